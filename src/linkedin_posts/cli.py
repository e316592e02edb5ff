"""`linkedin-posts serve | worker | migrate | create-user`."""

import argparse
import asyncio
import contextlib
import getpass
import math
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from linkedin_posts.config import InsecureSecretKeyError, Settings, get_settings

# After the requests' deadline, what a stopping server allows for answers to be written.
SHUTDOWN_MARGIN_SECONDS = 5
# How long a reload waits for a new worker to be ready before it keeps the old one.
WORKER_READY_SECONDS = 60
# uvicorn's httptools protocol, refusing beyond the app's in-flight cap and answering cached
# reads before the app runs (server_protocol.py). An import string: the workers import it.
HTTP_PROTOCOL = "linkedin_posts.server_protocol:ServerProtocol"
# uvloop, letting a burst of new connections in at once rather than one per turn (event_loop.py).
EVENT_LOOP = "linkedin_posts.event_loop:Loop"
# prometheus_client's own variable (see linkedin_posts.observability.metrics).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def load_settings() -> Settings:
    """Settings, or exit with one line that says what to fix."""
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, InsecureSecretKeyError):
                sys.exit(f"error: {cause}")
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        sys.exit(f"error: invalid configuration LP_{field.upper()}: {first['msg']}")


def ensure_sqlite_dir(settings: Settings) -> None:
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def migrate(settings: Settings) -> None:
    from linkedin_posts import migrate as migrations

    ensure_sqlite_dir(settings)
    migrations.upgrade(settings.database_url)


def raise_open_files_limit() -> None:
    """Each connection takes a descriptor, and many systems start a process with a soft limit of
    1,024 under a far higher hard one (systemd's default): a server holding a thousand clients
    would fail to accept the next. Raise the soft limit to the hard one, as nginx
    (`worker_rlimit_nofile`) and Go let a server do; uvicorn's workers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = hard
    if hard == resource.RLIM_INFINITY:
        nr_open = Path("/proc/sys/fs/nr_open")  # Linux refuses "unlimited" here: its ceiling
        if not nr_open.exists():
            return
        ceiling = int(nr_open.read_text())
    if soft == resource.RLIM_INFINITY or soft >= ceiling:
        return
    with contextlib.suppress(OSError, ValueError):  # a ceiling lower than reported: as it was
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    raise_open_files_limit()
    if not args.access_log:
        # Our middleware writes the access log; the workers read their settings from here.
        os.environ["LP_ACCESS_LOG"] = "false"
    settings = load_settings()
    if args.workers > 1 and settings.cache_enabled and not settings.redis_url:
        # Without Redis the workers cannot tell each other about writes: one could answer from
        # memory what another has just changed.
        print(
            "linkedin-posts: several workers without LP_REDIS_URL: the cache is off "
            "(set LP_REDIS_URL to share it)",
            file=sys.stderr,
        )
        os.environ["LP_CACHE_ENABLED"] = "false"
    made_dir = share_metrics_dir(args.workers)
    try:
        if settings.should_auto_migrate:
            migrate(settings)
        uvicorn.run(
            "linkedin_posts.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            loop=EVENT_LOOP,
            http=HTTP_PROTOCOL,
            proxy_headers=False,
            server_header=False,
            log_level=args.log_level,
            access_log=False,  # ours replaces uvicorn's: it knows the route and the principal
            # SIGTERM: requests in flight get their deadline, then what is left (an event
            # stream that would outlive any deadline) is cut and the lifespan closes the pools.
            timeout_graceful_shutdown=shutdown_seconds(settings),
            # A reload (SIGHUP) replaces a worker only once its successor is ready; start-up
            # (models, warm-up) can take longer than uvicorn's 5 s on a busy machine.
            timeout_worker_healthcheck=WORKER_READY_SECONDS,
        )
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)


def shutdown_seconds(settings: Settings) -> int:
    """How long a stopping server waits for its requests: their deadline, and a little more."""
    return math.ceil(settings.request_timeout_seconds) + SHUTDOWN_MARGIN_SECONDS


def worker(_args: argparse.Namespace) -> None:
    import uvloop

    from linkedin_posts.jobs.worker import run_worker

    raise_open_files_limit()
    settings = load_settings()
    if settings.should_auto_migrate:
        migrate(settings)
    uvloop.run(run_worker(settings))


def share_metrics_dir(workers: int) -> str | None:
    """Give all workers one empty metrics directory; return it when made here (to remove it).

    prometheus_client chooses between in-memory and per-process-file values when it is imported,
    so the variable must be set before uvicorn spawns the workers (fresh interpreters that
    inherit os.environ). The directory is emptied because the counters of processes that are
    gone stay in it and would be added to every scrape.
    """
    existing = os.environ.get(METRICS_DIR_ENV)
    if existing:
        directory = Path(existing)
        directory.mkdir(parents=True, exist_ok=True)
        # Only prometheus_client's files: the variable may name a directory that holds others.
        for stale in directory.glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None
    made = tempfile.mkdtemp(prefix="linkedin-posts-metrics-")
    os.environ[METRICS_DIR_ENV] = made
    return made


async def _create_user(settings: Settings, email: str, password: str, admin: bool) -> str:
    from linkedin_posts.auth import service
    from linkedin_posts.auth.models import Role
    from linkedin_posts.database import create_engine, create_session_factory
    from linkedin_posts.observability import health

    engine = create_engine(settings)
    try:
        # Checked first, not learned from a failing INSERT: a clearer message.
        await health.check_migrations(engine)
        async with create_session_factory(engine)() as session:
            user = await service.create_user(
                session,
                settings=settings,
                email=email,
                password=password,
                role=Role.ADMIN if admin else Role.MEMBER,
            )
            await session.commit()
            return str(user.id)
    finally:
        await engine.dispose()


def create_user(args: argparse.Namespace) -> None:
    from linkedin_posts.auth.schemas import UserCreate
    from linkedin_posts.errors import AppError
    from linkedin_posts.observability.health import CheckFailed

    settings = load_settings()
    password = args.password or getpass.getpass("Password: ")
    try:
        data = UserCreate(email=args.email, password=password)
    except ValidationError as exc:
        sys.exit(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    if settings.should_auto_migrate:
        migrate(settings)
    elif _missing_sqlite_file(settings):
        # Said without connecting: aiosqlite's thread, failing to open the file, could still be
        # reporting to the event loop after asyncio.run closed it, and print a traceback.
        sys.exit("error: the database is not migrated (no file yet); run `linkedin-posts migrate`")
    try:
        user_id = asyncio.run(_create_user(settings, data.email, data.password, args.admin))
    except AppError as exc:
        sys.exit(f"error: {exc.detail}")
    except CheckFailed as exc:
        sys.exit(f"error: the database is {exc} ({exc.detail}); run `linkedin-posts migrate`")
    except DBAPIError as exc:
        sys.exit(
            f"error: the database is not ready ({type(exc.orig).__name__}); "
            "check LP_DATABASE_URL and run `linkedin-posts migrate`"
        )
    print(f"created {'admin' if args.admin else 'member'} {data.email.lower()} ({user_id})")


def _missing_sqlite_file(settings: Settings) -> bool:
    database = make_url(settings.database_url).database
    if not settings.is_sqlite or not database or database == ":memory:":
        return False
    return not Path(database).exists()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linkedin-posts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="run the HTTP server")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="worker processes")
    run.add_argument("--log-level", default="info")
    run.add_argument("--no-access-log", dest="access_log", action="store_false")
    run.set_defaults(handler=serve)

    work = commands.add_parser("worker", help="run bulk jobs (no HTTP server)")
    work.set_defaults(handler=worker)

    mig = commands.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(handler=lambda _args: migrate(load_settings()))

    user = commands.add_parser("create-user", help="create an account")
    user.add_argument("--email", required=True)
    user.add_argument("--password", help="prompted for when left out")
    user.add_argument("--admin", action="store_true", help="give the account the admin role")
    user.set_defaults(handler=create_user)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args)
