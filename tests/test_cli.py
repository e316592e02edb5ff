"""The `linkedin-posts` console script, run the way an operator runs it: as a process."""

import functools
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from linkedin_posts.main import create_app
from tests.conftest import make_settings
from tests.ports import free_port

_SCRIPT = Path(sys.executable).with_name("linkedin-posts")
CLI = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "import sys; from linkedin_posts.cli import main; sys.exit(main())"]
)
SCHEMA_TABLES = {"users", "api_keys", "posts", "post_tags", "alembic_version"}
PASSWORD = "a long enough password"
STRONG_KEY = "k" * 40
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A directory that does not exist yet: the CLI creates it for a SQLite file.
    return tmp_path / "data" / "nested" / "linkedin_posts.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite+aiosqlite:///{db_path}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once by `linkedin-posts migrate`, for tests that start from one."""
    directory = tmp_path_factory.mktemp("cli-template")
    path = directory / "template.db"
    result = run_cli("migrate", database_url=f"sqlite+aiosqlite:///{path}", cwd=directory)
    assert result.returncode == 0, result.stderr
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def migrated_db(migrated_template: Path, db_path: Path) -> Path:
    db_path.parent.mkdir(parents=True)
    shutil.copyfile(migrated_template, db_path)
    return db_path


def cli_env(database_url: str, **overrides: str | None) -> dict[str, str]:
    """The caller's environment minus every LP_ variable (tests' own included), plus ours."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LP_")}
    env.update(LP_ENV="test", LP_DATABASE_URL=database_url)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(
    *args: str, database_url: str, cwd: Path, **env: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=cli_env(database_url, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def run_cli_async(
    *args: str, database_url: str, cwd: Path, **env: str | None
) -> subprocess.CompletedProcess[str]:
    call = functools.partial(run_cli, *args, database_url=database_url, cwd=cwd, **env)
    return await anyio.to_thread.run_sync(call)


def tables_in(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def assert_one_line_error(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    assert result.returncode != 0, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for mention in mentions:
        assert mention in lines[0], lines[0]
    return lines[0]


# --- migrate -------------------------------------------------------------------------------


def test_migrate_creates_the_schema(tmp_path: Path, db_path: Path, db_url: str) -> None:
    result = run_cli("migrate", database_url=db_url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert db_path.is_file()
    assert tables_in(db_path) >= SCHEMA_TABLES


def test_migrate_on_a_migrated_database_is_harmless(
    tmp_path: Path, migrated_db: Path, db_url: str
) -> None:
    again = run_cli("migrate", database_url=db_url, cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert tables_in(migrated_db) >= SCHEMA_TABLES


# --- create-user ---------------------------------------------------------------------------


def test_create_user_on_a_new_sqlite_file_migrates_it_first(
    tmp_path: Path, db_path: Path, db_url: str
) -> None:
    result = run_cli(
        "create-user",
        "--email",
        "ana@example.com",
        "--password",
        PASSWORD,
        database_url=db_url,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "ana@example.com" in result.stdout
    assert {"users", "posts"} <= tables_in(db_path)


def test_create_user_on_an_unmigrated_database_fails_in_one_line(
    tmp_path: Path, db_path: Path, db_url: str
) -> None:
    result = run_cli(
        "create-user",
        "--email",
        "ana@example.com",
        "--password",
        PASSWORD,
        database_url=db_url,
        cwd=tmp_path,
        LP_AUTO_MIGRATE="false",
    )

    assert_one_line_error(result, "linkedin-posts migrate")


@pytest.mark.parametrize(("flags", "role"), [(["--admin"], "admin"), ([], "member")])
async def test_create_user_can_then_log_in(
    tmp_path: Path, migrated_db: Path, db_url: str, flags: list[str], role: str
) -> None:
    result = await run_cli_async(
        "create-user",
        "--email",
        "Ops.Lead@Example.COM",
        "--password",
        PASSWORD,
        *flags,
        database_url=db_url,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    match = re.fullmatch(rf"created {role} ops\.lead@example\.com \(({UUID_RE})\)\n", result.stdout)
    assert match, result.stdout
    assert PASSWORD not in result.stdout + result.stderr

    app = create_app(make_settings(db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            login = await client.post(
                "/v1/auth/token", data={"username": "ops.lead@example.com", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            me = await client.get(
                "/v1/users/me",
                headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == match.group(1)
    assert me.json()["email"] == "ops.lead@example.com"
    assert me.json()["role"] == role


def test_create_user_with_a_taken_email_fails_in_one_line(
    tmp_path: Path, migrated_db: Path, db_url: str
) -> None:
    first = run_cli(
        "create-user",
        "--email",
        "ana@example.com",
        "--password",
        PASSWORD,
        database_url=db_url,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr

    again = run_cli(
        "create-user",
        "--email",
        "ANA@example.com",
        "--password",
        "another password",
        "--admin",
        database_url=db_url,
        cwd=tmp_path,
    )

    assert_one_line_error(again, "already exists")
    assert "another password" not in again.stderr


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("not-an-email", PASSWORD, "email"), ("ana@example.com", "s3cr3t!", "password")],
    ids=["bad-email", "short-password"],
)
def test_create_user_with_invalid_input_fails_in_one_line(
    tmp_path: Path, migrated_db: Path, db_url: str, email: str, password: str, field: str
) -> None:
    result = run_cli(
        "create-user",
        "--email",
        email,
        "--password",
        password,
        database_url=db_url,
        cwd=tmp_path,
    )

    line = assert_one_line_error(result, field)
    assert "s3cr3t!" not in line
    with sqlite3.connect(migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


# --- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize("secret_key", [None, "0123456789"], ids=["default-key", "10-byte-key"])
@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["create-user", "--email", "ana@example.com", "--password", PASSWORD],
        ["serve", "--port", "1"],
    ],
    ids=["migrate", "create-user", "serve"],
)
def test_production_refuses_an_insecure_secret_key(
    tmp_path: Path, db_path: Path, db_url: str, secret_key: str | None, command: list[str]
) -> None:
    result = run_cli(
        *command, database_url=db_url, cwd=tmp_path, LP_ENV="production", LP_SECRET_KEY=secret_key
    )

    line = assert_one_line_error(result, "LP_SECRET_KEY")
    if secret_key:
        assert secret_key not in line
    assert not db_path.exists()


def test_production_with_a_strong_key_works(tmp_path: Path, db_path: Path, db_url: str) -> None:
    env = {"LP_ENV": "production", "LP_SECRET_KEY": STRONG_KEY}

    migrated = run_cli("migrate", database_url=db_url, cwd=tmp_path, **env)
    created = run_cli(
        "create-user",
        "--email",
        "ana@example.com",
        "--password",
        PASSWORD,
        database_url=db_url,
        cwd=tmp_path,
        **env,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert tables_in(db_path) >= SCHEMA_TABLES
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created member ana@example.com (")
    assert STRONG_KEY not in migrated.stdout + migrated.stderr + created.stdout + created.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("LP_DB_POOL_SIZE", "0"), ("LP_ENV", "staging"), ("LP_API_KEYS_PER_USER", "many")],
)
def test_an_invalid_setting_is_named_in_one_line(
    tmp_path: Path, db_path: Path, db_url: str, name: str, value: str
) -> None:
    result = run_cli("migrate", database_url=db_url, cwd=tmp_path, **{name: value})

    assert_one_line_error(result, name)
    assert not db_path.exists()


def test_no_command_prints_usage(tmp_path: Path, db_url: str) -> None:
    result = run_cli(database_url=db_url, cwd=tmp_path)

    assert result.returncode == 2
    assert "usage: linkedin-posts" in result.stderr
    for command in ("serve", "migrate", "create-user"):
        assert command in result.stderr


# --- serve ---------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`linkedin-posts serve` on a free port and a fresh SQLite file; stopped afterwards."""
    yield from start_serve(tmp_path, db_url)


def start_serve(
    tmp_path: Path, db_url: str, open_files: int | None = None, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`open_files`: the soft limit on descriptors the server starts with (as systemd's 1,024)."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--no-access-log"],
            env=cli_env(db_url, **env),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=(
                None
                if open_files is None
                else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, hard))
            ),
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def wait_until_serving(
    base_url: str, process: subprocess.Popen[bytes], log: Path
) -> httpx.Response:
    """Poll /openapi.json until it answers, the server dies, or the deadline passes."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"{base_url}/openapi.json", timeout=5)
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server did not answer within 60 s:\n{log.read_text()}")
        try:
            # Doubles as the pause between polls: returns at once if the server has died.
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")


def test_serve_migrates_sqlite_and_answers(
    server: tuple[str, subprocess.Popen[bytes], Path], db_path: Path
) -> None:
    base_url, process, log = server

    spec = wait_until_serving(base_url, process, log)

    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "LinkedIn Posts API"
    assert "server" not in spec.headers
    assert db_path.is_file()

    email = f"serve-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(
        f"{base_url}/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(
        f"{base_url}/v1/auth/token", data={"username": email, "password": PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    me = httpx.get(
        f"{base_url}/v1/users/me",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )
    assert me.json()["email"] == email

    process.terminate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()


def test_a_stopping_server_cuts_what_outlives_the_request_deadline(
    tmp_path: Path, db_url: str
) -> None:
    # A job no runner takes (LP_JOBS_ENABLED=false): its event stream would stay open for good.
    deadline = 2
    served = start_serve(
        tmp_path, db_url, LP_REQUEST_TIMEOUT_SECONDS=str(deadline), LP_JOBS_ENABLED="false"
    )
    base_url, process, log = next(served)
    try:
        wait_until_serving(base_url, process, log)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            email = f"stop-{uuid.uuid4().hex[:8]}@example.com"
            client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
            token = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            job = client.post(
                "/v1/jobs", json={"kind": "analyze", "items": [{"text": "Hi"}]}, headers=headers
            )
            assert job.status_code == 201, job.text
            events = f"/v1/jobs/{job.json()['id']}/events"
            with client.stream("GET", events, headers=headers) as stream:
                lines = stream.iter_lines()
                assert next(lines).startswith(("event:", "id:", "data:", ":"))
                process.terminate()
                stopped_at = time.monotonic()
                with pytest.raises(httpx.HTTPError):  # cut, not ended by the server
                    for _ in lines:
                        pass
        # The deadline and the margin (cli.SHUTDOWN_MARGIN_SECONDS), not the stream's end.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
        assert time.monotonic() - stopped_at < deadline + 5 + 3
        assert "Application shutdown complete" in log.read_text()
    finally:
        served.close()


def test_serve_holds_more_connections_than_its_starting_soft_limit(
    tmp_path: Path, db_url: str
) -> None:
    """Started with 256 descriptors allowed (under a higher hard limit), as systemd starts a
    service with 1,024: it raises its own limit, and 400 clients connected at once are served."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.fail(f"this test needs a hard limit on open files above 1,024, not {hard}")
    for base_url, process, log in start_serve(tmp_path, db_url, open_files=256):
        wait_until_serving(base_url, process, log)
        port = int(base_url.rsplit(":", 1)[1])
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(400)]
        try:
            for client in clients:
                client.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            for client in clients:
                assert client.recv(64).startswith(b"HTTP/1.1 200 "), log.read_text()
        finally:
            for client in clients:
                client.close()
