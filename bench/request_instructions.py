"""Instructions per request in the HTTP server and the app, counted by valgrind.

    .venv/bin/python bench/request_instructions.py
    .venv/bin/python bench/request_instructions.py --apps cached_get,fastapi_hello --redis
    .venv/bin/python bench/request_instructions.py --src /tmp/old/src

What wrk measures here moves by ±20% from one run to the next (docs/benchmarks.md), so a change
of a few percent in what a request costs cannot be seen with it. This counts instead, as
bench/analysis_instructions.py does for the analysis: each app runs twice under
`valgrind --tool=cachegrind`, in one process with `linkedin-posts serve`'s uvicorn protocol
(cli.HTTP_PROTOCOL, uvloop, the settings `serve` passes) fed the bytes wrk would send through
--connections in-memory transports, one request to each in a round, as a loaded server reads
them together (it starts 32 a loop turn, arrival_order.py; one connection alone would count a
whole turn for every request); warmed up by --warmup requests and frozen (gc.freeze(), as the
server after start); then no more requests, or --requests more. The difference of the two
totals, divided by --requests, is one request's instructions. PYTHONHASHSEED=0 and
`setarch -R` make the runs repeatable.

Counted: uvicorn's parsing and writing, the app, and the event loop's turns between them. Not
counted: the kernel (accepting, reading, writing the socket, epoll), which costs every app alike
per request (one read, and one write per transport.write, counted and shown as `writes`), the
load generator, and this script's check of the answers, made on all of them after the last (until
2026-12-07 each answer was parsed as it came, ~2.9 us of Python per request in the counts).

The apps:
- `fastapi_hello`: bench/hello.py (the FastAPI hello-world of bench/cache.py);
- `raw_hello`: bench/raw_hello.py (the raw ASGI one);
- `cached_get`: the API's GET /v1/posts/{id}, every post already in memory, on a throwaway
  PostgreSQL database seeded as `make bench` does (each request a random user's post with its
  owner's key); `--redis` adds LP_REDIS_URL (the scale-out shape, as bench/cache.py runs it);
- `cached_get_unprotected`: the same without the protection stack, as bench/overload.py's "off"
  server (bench/apps.py's `unprotected`: no rate limiter, compression or protection middleware):
  with `cached_get`, what protection costs a cached read, printed after the table.

Needs valgrind (`make bench` installs it with wrk).
"""

import argparse
import asyncio
import collections
import gc
import json
import operator
import os
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import valgrind

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

APPS = ("fastapi_hello", "raw_hello", "cached_get", "cached_get_unprotected")
# operator.call (C: _operator_call) runs the measured requests and nothing else calls it, so
# callgrind's --toggle-collect counts exactly what runs while it is on the stack.
MARKER = operator.call
MARKER_SYMBOL = "_operator_call"
COLLECTED = re.compile(r"^summary:\s+(\d+)", re.MULTILINE)
HOST = b"127.0.0.1:8000"
REDIS_URL = "redis://127.0.0.1:6379/0"
READ_LIMIT_OUT_OF_REACH = "100000000/minute"  # as bench/cache.py: counted, never refused


class MemoryTransport(asyncio.Transport):
    """A connection's transport that keeps what is written, as a socket's would send it."""

    def __init__(self, wrote: set["MemoryTransport"]) -> None:
        super().__init__()
        self.written = bytearray()
        self.writes = 0
        self.closing = False
        self.wrote = wrote  # the transports written to, shared: one check for a whole round

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data
        self.writes += 1
        self.wrote.add(self)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def answers_in(written: bytes) -> list[bytes]:
    """Each answer's status line and X-Cache header, in the bytes written for them all."""
    heads = re.findall(rb"HTTP/1\.1 \d{3}.*?\r\n\r\n", written, re.DOTALL)
    seen = []
    for head in heads:
        cache = re.search(rb"(?im)^x-cache: *(\S+)", head)
        seen.append(head[:12] + (b" " + cache.group(1) if cache else b""))
    return seen


async def serve(
    app: Any, state: dict[str, Any], requests: list[bytes], connections: int
) -> tuple[int, bytearray]:
    """The requests through the server's protocol on `connections` kept-alive connections, in
    rounds of one request each: the writes of the last answer, and what was written for them
    all."""
    import uvicorn
    from uvicorn.server import ServerState

    from linkedin_posts.cli import HTTP_PROTOCOL

    config = uvicorn.Config(
        app,
        loop="none",
        http=HTTP_PROTOCOL,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    config.load()
    server_state = ServerState()
    wrote: set[MemoryTransport] = set()
    opened = []
    for _ in range(connections):
        protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=server_state, app_state=state
        )
        transport = MemoryTransport(wrote)
        protocol.connection_made(transport)
        opened.append((protocol, transport))
    writes = 0
    for first in range(0, len(requests), connections):
        wrote.clear()
        batch = requests[first : first + connections]
        last = opened[len(batch) - 1][1]
        before = last.writes
        for (protocol, _), request in zip(opened, batch, strict=False):
            protocol.data_received(request)
        # Until every answer is written and every task, if any, has ended: the event loop's
        # turns are part of what is counted. Nothing else is, so that the count is the
        # requests': what was written is read after the last answer.
        while server_state.tasks or len(wrote) < len(batch):  # noqa: ASYNC110
            await asyncio.sleep(0)
        writes = last.writes - before
    for protocol, _ in opened:
        protocol.connection_lost(None)
    return writes, bytearray().join(transport.written for _, transport in opened)


def request_bytes(path: str, api_key: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST.decode()}\r\nX-API-Key: {api_key}\r\n\r\n".encode()


async def prepare(args: argparse.Namespace) -> tuple[Any, dict[str, Any], list[bytes]]:
    """Start the app and warm it up: the app, its lifespan state, the measured requests."""
    users = json.loads(Path(args.users).read_text())  # noqa: ASYNC240 (before any request)
    rng = random.Random(7)
    picks = [rng.choice(users) for _ in range(args.warmup + args.requests)]
    if args.child.startswith("cached_get"):
        from linkedin_posts.config import Settings
        from linkedin_posts.main import create_app

        unprotected = args.child == "cached_get_unprotected"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            database_url=args.database_url,
            secret_key="x" * 48,
            ratelimit_read=READ_LIMIT_OUT_OF_REACH,
            access_log=False,
            redis_url=REDIS_URL if args.redis else None,
            # The embedded job runner looks for work every second, on the clock: under valgrind
            # a run's seconds depend on what it counts, and that work is no request's.
            jobs_enabled=False,
            # bench/apps.py's `unprotected`, as bench/overload.py's "off" server.
            **({"ratelimit_enabled": False, "compression_enabled": False} if unprotected else {}),
        )
        app: Any = create_app(settings)
        if unprotected:
            from apps import PROTECTION

            app.user_middleware = [m for m in app.user_middleware if m.cls not in PROTECTION]
        # Every post of the run once, so that the measured requests are all hits.
        warm = [request_bytes(f"/v1/posts/{p}", u["api_key"]) for u in users for p in u["posts"]]
        paths = [f"/v1/posts/{rng.choice(u['posts'])}" for u in picks]
    else:
        module = "hello" if args.child == "fastapi_hello" else "raw_hello"
        app = __import__(module).app
        warm, paths = [], ["/"] * len(picks)
    requests = [request_bytes(path, u["api_key"]) for path, u in zip(paths, picks, strict=True)]
    state: dict[str, Any] = {}
    lifespan = getattr(getattr(app, "router", None), "lifespan_context", None)
    if lifespan is not None:
        # Left open: the process ends without a shutdown (see child). Kept referenced: a
        # collected context manager would close the pools.
        app.running_lifespan = lifespan(app)
        state = dict(await app.running_lifespan.__aenter__() or {})
    await serve(app, state, warm + requests[: args.warmup], args.connections)
    await asyncio.sleep(0.2)  # let what the warm-up set off (refills, invalidations) finish
    return app, state, requests[args.warmup :]


def child(args: argparse.Namespace) -> None:
    """The measured process: what runs inside MARKER is what callgrind counts."""
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app, state, requests = loop.run_until_complete(prepare(args))
    gc.freeze()  # as the server does after start
    writes, written = MARKER(loop.run_until_complete, serve(app, state, requests, args.connections))
    answers = collections.Counter(answer.decode() for answer in answers_in(written))
    print(json.dumps({"writes": writes, "answers": answers}), flush=True)
    # No shutdown: closing pools and freeing memory is not the requests' cost.
    os._exit(0)


def instructions(app: str, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """The instructions counted inside MARKER in one run of `app`, and what it answered."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        tool = ["--tool=callgrind", f"--callgrind-out-file={out}"]
        tool.append(f"--toggle-collect={MARKER_SYMBOL}")
        child = ["--child", app, "--users", str(args.users), "--database-url", args.database_url]
        child += ["--warmup", str(args.warmup), "--requests", str(args.requests)]
        child += ["--connections", str(args.connections)]
        child += ["--redis"] if args.redis else []
        done = valgrind.run(tool, __file__, child, src=args.src)
        found = COLLECTED.search(out.read_text()) if out.exists() else None
        if done.returncode != 0 or found is None:
            raise SystemExit(f"{app}: valgrind failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(out, args.keep / f"callgrind.{app}.out")
    return int(found.group(1)), json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--apps", default=",".join(APPS), help="comma-separated, of: " + ", ".join(APPS)
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests measured per app")
    parser.add_argument("--warmup", type=int, default=300, help="requests served before")
    parser.add_argument(
        "--connections", type=int, default=32, help="connections, each given one request a round"
    )
    parser.add_argument(
        "--redis", action="store_true", help=f"the API with LP_REDIS_URL={REDIS_URL}"
    )
    parser.add_argument("--src", type=Path, help="another checkout's src directory to measure")
    parser.add_argument(
        "--server-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--users", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", type=Path, help="keep callgrind's output here (callgrind_annotate reads it)"
    )
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    valgrind.require()
    apps = [app for app in args.apps.split(",") if app]
    if set(apps) - set(APPS) or args.requests < 1 or args.connections < 1:
        parser.error(f"apps are of {APPS}; --requests and --connections must be >= 1")
    import seed

    name = seed.random_database_name()
    seed.create_database(args.server_url, name)
    try:
        args.database_url = seed.database_url_for(args.server_url, name)
        seed.migrate(args.database_url, seed.clean_env())
        seeded = seed.seed(args.database_url, users=20, posts_per_user=10).users
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump([{"api_key": u.api_key, "posts": u.post_ids} for u in seeded], file)
        args.users = file.name
        code = args.src.resolve() if args.src else BENCH_DIR.parent / "src"
        shape = "PostgreSQL + Redis" if args.redis else "PostgreSQL, no Redis"
        print(
            f"code: {code}; {args.requests} requests per app after {args.warmup}, "
            f"over {args.connections} connections; {shape}"
        )
        print("| app | K instructions per request | writes per answer | answers |")
        print("|---|---:|---:|---|")
        per_request: dict[str, float] = {}
        for app in apps:
            counted, seen = instructions(app, args)
            per_request[app] = counted / args.requests / 1e3
            answers = ", ".join(f"{answer}: {n}" for answer, n in seen["answers"].items())
            print(f"| {app} | {per_request[app]:.1f} | {seen['writes']} | {answers} |", flush=True)
        on, off = per_request.get("cached_get"), per_request.get("cached_get_unprotected")
        if on is not None and off is not None:
            # The kernel's part of a read, the same with or without, is not counted: in the
            # time of a whole read, the protection's share is smaller than this.
            print(
                f"\nprotection's cost on a cached read: {on - off:.1f} K instructions, "
                f"{1 - off / on:.1%} of cached_get's (#4's target: <= 10%)"
            )
    finally:
        seed.drop_database(args.server_url, name)
        if args.users:
            Path(args.users).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
