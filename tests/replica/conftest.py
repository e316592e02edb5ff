"""A PostgreSQL primary and its streaming replica, made for these tests and removed after them.

The server binaries (initdb, pg_ctl, pg_basebackup) come from LP_TEST_PG_BINDIR, the PATH, or
the newest /usr/lib/postgresql/<version>/bin. Without them (or without LP_TEST_REDIS_URL) the
tests that need the servers skip, saying why; under CI=true they fail instead. PostgreSQL will
not run as root: as root, the servers run as the `postgres` user, in a directory it owns.
"""

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from linkedin_posts import migrate
from linkedin_posts.database import APPLICATION_NAME
from tests.conftest import IN_CI, REDIS_URL
from tests.ports import free_port

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "createdb", "psql")
DATABASE = "lp"
SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    # Throwaway data: no fsync, and small.
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "'16MB'",
    "max_connections": "60",
    "max_wal_senders": "4",
    "wal_keep_size": "'128MB'",
}
START_SECONDS = 30


def find_bindir() -> Path | None:
    candidates = []
    if os.environ.get("LP_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["LP_TEST_PG_BINDIR"]))
    on_path = shutil.which("pg_basebackup")
    if on_path:
        candidates.append(Path(on_path).parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda path: _version(path.parent.name), reverse=True)
    return next((path for path in candidates if all((path / t).exists() for t in TOOLS)), None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def unavailable(reason: str) -> None:
    """Skip for want of a prerequisite; under CI, where every prerequisite is owed, fail."""
    if IN_CI:
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@dataclass
class Servers:
    bindir: Path
    root: Path
    user: str | None  # run the servers as this user (we are root)
    primary_port: int
    replica_port: int

    def url(self, port: int) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def dsn(self, port: int) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"

    def run(self, tool: str, *args: str) -> str:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def start(self, name: str) -> None:
        log = self.root / f"{name}.log"
        try:
            self.run("pg_ctl", "-D", str(self.root / name), "-l", str(log), "-w", "-t",
                     str(START_SECONDS), "start")  # fmt: skip
        except RuntimeError as exc:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{name}.log:\n{tail}") from None

    def stop(self, name: str, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.root / name), "-m", mode, "-w", "stop")

    def configure(self, name: str, port: int) -> None:
        settings = {
            **SERVER_SETTINGS,
            "port": str(port),
            "unix_socket_directories": f"'{self.root}'",
        }
        with (self.root / name / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def until_streaming(self) -> None:
        """Wait until the primary sends WAL to the replica."""
        deadline = time.monotonic() + START_SECONDS
        query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        while self.psql(self.primary_port, query) != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica never started streaming")
            time.sleep(0.05)

    # -- what the tests do to the servers, as an operator would ---------------------------------

    async def fetchval(self, port: int, query: str, *args: object) -> Any:
        conn = await asyncpg.connect(self.dsn(port))
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def pause_replay(self) -> None:
        """Stop applying WAL on the replica: from now on it shows the past."""
        await self.fetchval(self.replica_port, "SELECT pg_wal_replay_pause()")
        async with asyncio.timeout(10):
            while (  # noqa: ASYNC110 (the server has no event to wait on)
                await self.fetchval(self.replica_port, "SELECT pg_get_wal_replay_pause_state()")
                != "paused"
            ):
                await asyncio.sleep(0.02)

    async def resume_replay(self) -> None:
        await self.fetchval(self.replica_port, "SELECT pg_wal_replay_resume()")
        await self.until_replayed()

    async def until_replayed(self) -> None:
        """Wait until the replica has applied everything the primary has written so far."""
        position = await self.fetchval(self.primary_port, "SELECT pg_current_wal_lsn()")
        async with asyncio.timeout(10):
            while not await self.fetchval(  # noqa: ASYNC110 (the server has no event to wait on)
                self.replica_port, "SELECT pg_last_wal_replay_lsn() >= $1", position
            ):
                await asyncio.sleep(0.02)

    async def app_connections(self, port: int) -> int:
        """Sessions the app has open on this server (pg_stat_activity, by application name)."""
        count: int = await self.fetchval(
            port,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            APPLICATION_NAME,
        )
        return count

    def psql(self, port: int, query: str) -> str:
        return self.run(
            "psql", "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", DATABASE,
            "-X", "-A", "-t", "-c", query,
        ).strip()  # fmt: skip


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        unavailable("running as root, and there is no `postgres` user to run PostgreSQL as")
    if shutil.which("runuser") is None:
        unavailable("running as root, and `runuser` is missing to run PostgreSQL as `postgres`")
    return SUPERUSER


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """A primary with the schema, and a hot standby streaming from it."""
    if not REDIS_URL:
        unavailable("needs LP_TEST_REDIS_URL: the replica's read-your-writes marks live in Redis")
    bindir = find_bindir()
    if bindir is None:
        unavailable(
            f"needs the PostgreSQL server binaries ({', '.join(TOOLS)}): set LP_TEST_PG_BINDIR "
            "or install postgresql"
        )
        raise AssertionError  # unreachable: skip and fail raise
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="lp-replica-"))
    servers = Servers(bindir, root, user, free_port(), free_port())
    started: list[str] = []
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        servers.run("initdb", "-D", str(root / "primary"), "-U", SUPERUSER, "--auth=trust",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip
        servers.configure("primary", servers.primary_port)
        servers.start("primary")
        started.append("primary")
        servers.run("createdb", "-h", "127.0.0.1", "-p", str(servers.primary_port),
                    "-U", SUPERUSER, DATABASE)  # fmt: skip
        # In a thread, as conftest's migrated_url does: alembic runs its own event loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(migrate.upgrade, servers.primary_url).result()
        # -R: the copy starts as a standby of the primary (primary_conninfo, standby.signal).
        servers.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(servers.primary_port),
                    "-U", SUPERUSER, "-D", str(root / "replica"), "-R", "-X", "stream",
                    "-c", "fast", "--no-sync")  # fmt: skip
        servers.configure("replica", servers.replica_port)
        servers.start("replica")
        started.append("replica")
        servers.until_streaming()
        yield servers
    finally:
        for name in reversed(started):
            with contextlib.suppress(RuntimeError):  # a test stopped it already
                servers.stop(name, mode="immediate")
        shutil.rmtree(root, ignore_errors=True)
