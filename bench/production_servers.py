"""Choose the production server by measurement: uvicorn, gunicorn with uvicorn workers, granian.

    .venv/bin/python bench/production_servers.py
    .venv/bin/python bench/production_servers.py --duration 4 --rounds 5
    .venv/bin/python bench/production_servers.py --servers uvicorn,granian,granian-mt --no-shutdown
    .venv/bin/python bench/production_servers.py --servers granian --workers 1,2,3,4 --no-shutdown
    .venv/bin/python bench/production_servers.py --no-load --reload-flags default
    .venv/bin/python bench/production_servers.py --help

Each server runs the app `linkedin_posts.main:create_app` (a factory) with --workers worker
processes and the same environment: LP_ENV=production, a random LP_SECRET_KEY, a throwaway
PostgreSQL database seeded as bench/run.py seeds it, a throwaway Redis on a free loopback port
(one database number per server: no one else's keys are touched, nothing to clean up), a fresh
PROMETHEUS_MULTIPROC_DIR per server start (bench/run.py's settings otherwise: read and write
limits out of reach, in-flight cap 1000; here also the `ai` limit out of reach,
LP_CACHE_WARMUP_POSTS = every seeded post, LP_ANALYSIS_PRELOAD=true), and no access log
(LP_ACCESS_LOG=false, as `linkedin-posts serve --no-access-log`). The servers (--servers):

- uvicorn: `uvicorn --factory --workers N` with `linkedin-posts serve`'s settings
  (servers.UVICORN_FLAGS: uvloop, httptools, no proxy headers, no server header, no access log).
- gunicorn: `gunicorn -w N -k <UvicornWorker subclass>`: uvicorn_worker.UvicornWorker with the
  same settings as serve (CONFIG_KWARGS: uvloop, httptools, no proxy headers, no server header,
  no access log), --keep-alive 5 (uvicorn's default; gunicorn's is 2), graceful timeout 30 s.
- granian: `granian --interface asgi --factory --workers N` with GRANIAN_FLAGS below.
- granian-mt: granian with a multi-threaded Rust runtime (what `auto` picks for ASGI).

1. Start-up: each server started alone (the others idle), from spawn to the first 200 on
   /health/ready, and to every worker's lifespan done (the app's "cache warm-up" line).
2. Load, alternating the servers (A B C, then C B A, ...) for --rounds rounds, with wrk:
   (a) GET /v1/posts/{id}, the cached hot read (bench/cache.lua `cached`: a random post of a hot
   set of 1,000 with its owner's X-API-Key) at 64 connections; (b) POST /v1/analyze with a text
   never analysed in every request (bench/analysis.lua `unique`) at 16 connections. Medians
   over the rounds; each ratio is the median of the rounds' own ratios to the first server.
   Every answer that is not a 2xx is an error; a 5xx is a bug.
3. Memory: RSS and PSS of each worker and of the master, after the warm-up and after the rounds.
4. Signals, on a fresh instance of each server with a steady load of slow requests in flight
   (POST /v1/generate through tests/generation/fake_openai.py answering after --shutdown-delay
   s; --shutdown-clients clients on kept-alive connections, staggered) and a new-connection
   probe (GET /health/live) every 50 ms:
   - SIGHUP (reload: every worker replaced; skip with --no-reload): how long until the old
     workers are gone and the new ones started, and did every request and probe get its 200
     (with --reload-flags tuned, the default, each server with its flag that makes it wait for
     a new worker: Kind.reload_flags; `default` leaves each server's own default);
   - then SIGTERM: did each request in flight at the signal get its 200, how long until the
     master exited, what new connections met, and did each worker's lifespan shutdown run to
     its end (its last step, metrics.process_stopped(), removes the worker's live-gauge files
     from PROMETHEUS_MULTIPROC_DIR; the steps before close Redis and dispose of the engine).

Prints markdown tables and writes the raw results to
bench/results/<UTC time>-production-servers.json.
Loopback only; every step is bounded in time; the servers, Redis and the fake provider are
stopped and the database dropped however the run ends.
"""

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import corpus
import loadgen
import orjson
import redis
import seed
import servers
from run import (
    add_settings_option,
    log,
    metadata_of_run,
    run_and_save,
    server_env,
    settings_of,
)

import analysis
import cache
import generation

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
APP = "linkedin_posts.main:create_app"
READY_MARKER = "cache warm-up"  # main.py's warm_up() logs it at the end of each worker's start
LIVE_GAUGE_GLOB = "gauge_live*_{pid}.db"

# gunicorn's UvicornWorker with serve's settings (uvicorn.run in src/linkedin_posts/cli.py).
# Written to the run's temporary directory and put on gunicorn's --pythonpath, so bench/'s own
# modules (cache.py, report.py, ...) are not on the workers' import path.
GUNICORN_WORKER_MODULE = "lp_bench_gunicorn_worker"
GUNICORN_WORKER_SOURCE = '''\
"""uvicorn_worker.UvicornWorker with the settings of `linkedin-posts serve`."""

from typing import Any

from uvicorn_worker import UvicornWorker


class ServeUvicornWorker(UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
    }
'''

# granian: uvloop (what uvicorn runs; rloop is not installed, and `auto` would pick it if it
# were), one single-threaded Rust runtime per worker (`st`: for ASGI `auto` picks `mt`, and
# granian's README finds `st` better with few processes), HTTP/1 only (what nginx speaks to an
# upstream; `auto` also sniffs for HTTP/2), no websockets (the app has none), no access log (ours
# writes it), dead workers respawned (uvicorn's supervisor and gunicorn do it), and a bound on
# how long a worker may take to stop (gunicorn's graceful timeout; granian waits forever by
# default). The task implementation stays asyncio: granian marks `--task-impl rust`
# experimental, and with it this app never got ready (/health/ready: "RuntimeError: Future
# object is not initialized" from the migrations check, which runs in anyio.to_thread).
GRANIAN_FLAGS = (
    "--loop",
    "uvloop",
    "--runtime-mode",
    "st",
    "--http",
    "1",
    "--no-ws",
    "--log-level",
    "info",
    "--no-access-log",
    "--respawn-failed-workers",
    "--workers-kill-timeout",
    "30",
)


# (port, workers, tmpdir, extra flags) -> argv
Command = Callable[[int, int, Path, Sequence[str]], list[str]]


@dataclass(frozen=True)
class Kind:
    """A server under test and how to start it."""

    name: str
    label: str
    command: Command
    # Flags for the reload (SIGHUP) trial with --reload-flags tuned: the knob that makes the
    # server wait for a new worker to start before it stops the old one, set above this app's
    # start-up time (which LP_ANALYSIS_PRELOAD and LP_CACHE_WARMUP_POSTS lengthen).
    reload_flags: tuple[str, ...] = ()


def _bin(name: str) -> str:
    return str(servers.BIN / name)


def uvicorn_command(port: int, workers: int, _tmp: Path, extra: Sequence[str]) -> list[str]:
    return [
        _bin("uvicorn"),
        APP,
        "--factory",
        "--host",
        servers.HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *servers.UVICORN_FLAGS,
        *extra,
    ]


def gunicorn_command(port: int, workers: int, tmp: Path, extra: Sequence[str]) -> list[str]:
    return [
        _bin("gunicorn"),
        f"{APP}()",
        "--bind",
        f"{servers.HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        f"{GUNICORN_WORKER_MODULE}.ServeUvicornWorker",
        "--pythonpath",
        str(tmp),
        "--keep-alive",
        "5",
        "--graceful-timeout",
        "30",
        "--log-level",
        "info",
        *extra,
    ]


def granian_command(*own: str) -> Command:
    def command(port: int, workers: int, _tmp: Path, extra: Sequence[str]) -> list[str]:
        flags = list(GRANIAN_FLAGS)
        more = [*own, *extra]
        for i in range(0, len(more), 2):  # a flag given again replaces the default's value
            if more[i] in flags:
                flags[flags.index(more[i]) + 1] = more[i + 1]
            else:
                flags += [more[i], more[i + 1]]
        return [
            _bin("granian"),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            servers.HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            *flags,
            APP,
        ]

    return command


KINDS = {
    k.name: k
    for k in (
        # uvicorn's restart_all waits --timeout-worker-healthcheck (default 5 s) for each new
        # worker, then gives up and keeps the old one.
        Kind(
            "uvicorn",
            "uvicorn --workers N",
            uvicorn_command,
            ("--timeout-worker-healthcheck", "60"),
        ),
        # gunicorn stops the old workers as soon as it has forked the new ones: no knob.
        Kind("gunicorn", "gunicorn -k UvicornWorker", gunicorn_command),
        # granian stops the old worker --respawn-interval (default 3.5 s) after it spawned the
        # new one, whether or not that one has started.
        Kind(
            "granian",
            "granian --runtime-mode st",
            granian_command(),
            ("--respawn-interval", "15"),
        ),
        Kind(
            "granian-mt",
            "granian --runtime-mode mt",
            granian_command("--runtime-mode", "mt"),
            ("--respawn-interval", "15"),
        ),
    )
}


@dataclass(frozen=True)
class Contender:
    kind: Kind
    workers: int
    redis_db: int

    @property
    def key(self) -> str:
        return f"{self.kind.name}-{self.workers}w"

    @property
    def label(self) -> str:
        return f"{self.kind.name}, {self.workers} worker{'s' if self.workers > 1 else ''}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL, help="(default: %(default)s)")
    parser.add_argument(
        "--servers",
        default="uvicorn,gunicorn,granian",
        help=f"comma-separated, the first is the baseline; of {','.join(KINDS)}",
    )
    parser.add_argument("--workers", default="2", help="worker counts, comma-separated")
    parser.add_argument("--duration", type=float, default=4, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds, each load")
    parser.add_argument("--get-connections", type=int, default=64)
    parser.add_argument("--analyze-connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--posts-per-user", type=int, default=100)
    parser.add_argument("--hot-posts-per-user", type=int, default=10)
    parser.add_argument(
        "--texts-per-second",
        type=int,
        default=1000,
        help="new texts prepared per second of each analyze measurement (a wrk thread that runs "
        "out stops, and the table says so)",
    )
    parser.add_argument("--no-shutdown", action="store_true", help="skip the SIGTERM trials")
    parser.add_argument(
        "--no-reload", action="store_true", help="skip the SIGHUP (replace the workers) trials"
    )
    parser.add_argument(
        "--reload-flags",
        choices=("tuned", "default"),
        default="tuned",
        help="the servers of the signal trials: with the flags that make a reload wait for "
        "the new workers (uvicorn --timeout-worker-healthcheck 60, granian --respawn-interval "
        "15), or each server's defaults (default: %(default)s)",
    )
    parser.add_argument("--no-load", action="store_true", help="only the signal trials")
    parser.add_argument("--shutdown-clients", type=int, default=16)
    parser.add_argument(
        "--shutdown-delay", type=float, default=1.5, help="the fake provider's seconds per call"
    )
    parser.add_argument("--label", default="production-servers", help="suffix of the results file")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    add_settings_option(parser, "an extra setting for every server (repeatable)")
    args = parser.parse_args(argv)
    args.kind_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.kind_list) - set(KINDS)
    if unknown or not args.kind_list:
        parser.error(f"--servers takes a comma-separated subset of {','.join(KINDS)}")
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers takes worker counts >= 1")
    if len(args.kind_list) * len(args.worker_counts) > 15:
        parser.error("at most 15 servers (one Redis database number each)")
    if args.duration < 1 or args.rounds < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--duration >= 1, --rounds >= 1, --warmup >= 0, --threads >= 1")
    if min(args.get_connections, args.analyze_connections) < args.threads:
        parser.error("connections must be at least --threads")
    if not 1 <= args.hot_posts_per_user <= args.posts_per_user:
        parser.error("--hot-posts-per-user must be between 1 and --posts-per-user")
    if args.no_load and args.no_shutdown:
        parser.error("--no-load and --no-shutdown leave nothing to measure")
    if args.shutdown_clients < 1 or not 0.2 <= args.shutdown_delay <= 10:
        parser.error("--shutdown-clients >= 1 and 0.2 <= --shutdown-delay <= 10")
    args.settings = settings_of(parser, args)
    return args


# -- a throwaway Redis --------------------------------------------------------------------------


def start_redis(tmpdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = servers.free_port()
    data = tmpdir / "redis"
    data.mkdir()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            servers.HOST,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
            "--logfile",
            str(tmpdir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(redis.RedisError),
            redis.Redis(host=servers.HOST, port=port, socket_timeout=1) as client,
        ):
            client.ping()
            return process, port
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("redis-server did not answer in 10 s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# -- servers: start, readiness, processes, memory -----------------------------------------------


def base_env(args: argparse.Namespace, database_url: str, redis_port: int) -> dict[str, str]:
    env = server_env(
        database_url,
        {
            "LP_RATELIMIT_AI": "100000000/minute",
            "LP_ANALYSIS_PRELOAD": "true",
            "LP_CACHE_WARMUP_POSTS": str(args.users * args.posts_per_user),
            "LP_ACCESS_LOG": "false",  # what `linkedin-posts serve --no-access-log` sets
            **args.settings,
        },
    )
    env["LP_REDIS_URL"] = f"redis://{servers.HOST}:{redis_port}/0"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@dataclass
class Running:
    contender: Contender
    server: servers.Server
    metrics_dir: Path
    started: float
    first_200_s: float | None = None
    all_ready_s: float | None = None


def start_server(
    contender: Contender,
    env: dict[str, str],
    tmpdir: Path,
    name: str,
    extra: Sequence[str] = (),
) -> Running:
    # A fresh metrics directory per start: the workers share it (they are several processes),
    # and it must not hold another server's or an earlier run's files (cli.share_metrics_dir).
    metrics_dir = Path(tempfile.mkdtemp(prefix=f"metrics-{name}-", dir=tmpdir))
    port = servers.free_port()
    own = {
        **env,
        "LP_REDIS_URL": env["LP_REDIS_URL"].rsplit("/", 1)[0] + f"/{contender.redis_db}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = contender.kind.command(port, contender.workers, tmpdir, extra)
    started = time.monotonic()
    server = servers.start(
        name, command, workers=contender.workers, port=port, env=own, logdir=tmpdir
    )
    return Running(contender, server, metrics_dir, started)


def wait_ready(running: Running, timeout: float = 90) -> None:
    """Until /health/ready answers 200 and every worker has logged the end of its start-up."""
    server = running.server
    deadline = running.started + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        if running.first_200_s is None:
            with contextlib.suppress(OSError):
                status, _ = servers.request(server.port, "GET", "/health/ready")
                if status == 200:
                    running.first_200_s = time.monotonic() - running.started
        if running.first_200_s is not None:
            text = server.log_path.read_text(errors="replace")
            if text.count(READY_MARKER) >= running.contender.workers:
                running.all_ready_s = time.monotonic() - running.started
                return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f}s:\n{server.log_tail()}")


def worker_pids(server: servers.Server) -> list[int]:
    """The processes that serve requests: the master's children (not multiprocessing's
    helpers), or the master itself when it has none (uvicorn with one worker)."""
    helpers = ("resource_tracker", "semaphore_tracker", "forkserver")
    pids = [
        pid
        for pid in servers.children(server.pid)
        if not any(h in servers.cmdline(pid) for h in helpers)
    ]
    return sorted(pids) or [server.pid]


def memory(server: servers.Server) -> dict[str, Any]:
    workers = [
        {
            "pid": pid,
            "rss_kib": servers.status_kib(pid, "VmRSS"),
            "hwm_kib": servers.status_kib(pid, "VmHWM"),
            "pss_kib": analysis.pss_kib(pid),
        }
        for pid in worker_pids(server)
    ]
    master = None
    if [w["pid"] for w in workers] != [server.pid]:
        master = {
            "pid": server.pid,
            "rss_kib": servers.status_kib(server.pid, "VmRSS"),
            "pss_kib": analysis.pss_kib(server.pid),
        }
    return {"workers": workers, "master": master}


# -- load ---------------------------------------------------------------------------------------


class Texts:
    """Request bodies of POST /v1/analyze, each a text no server has analysed.

    corpus.posts gives ~2,500 new posts a second on this machine, too slow for tens of thousands:
    a pool of them, each request's text one of the pool plus a line that numbers it. The analysis
    has no cache below the whole text (engine.py), so each is a full analysis of a post-sized text.
    """

    def __init__(self, seed_value: int, pool: int = 2000) -> None:
        self.tag = f"{seed_value:x}"
        self.pool = [p.text for p in corpus.posts(pool, seed=seed_value)]
        self.next = 0

    def take(self, count: int) -> list[bytes]:
        start, self.next = self.next, self.next + count
        return [
            orjson.dumps({"text": f"{self.pool[i % len(self.pool)]}\n\nref {self.tag}-{i}"})
            for i in range(start, start + count)
        ]


def run_wrk(running: Running, scenario: str, data_path: Path, **load: Any) -> dict[str, Any]:
    """loadgen.run_wrk, and the CPU time of each worker meanwhile: how evenly the kernel spread
    wrk's connections (one accept queue shared by the workers, or one socket per worker)."""
    pids = worker_pids(running.server)
    before = {pid: servers.cpu_seconds(pid) for pid in pids}
    m = loadgen.run_wrk(running.server, scenario, data_path, **load)
    result = m.as_dict()
    result.pop("raw_output", None)
    result["worker_cpu_s"] = {
        str(pid): round(servers.cpu_seconds(pid) - before[pid], 2) for pid in pids
    }
    return result


def measure_get(
    running: Running, data_path: Path, args: argparse.Namespace, duration: float
) -> dict[str, Any]:
    return run_wrk(
        running,
        "cached",
        data_path,
        duration=duration,
        connections=args.get_connections,
        threads=args.threads,
        script=cache.SCRIPT,
    )


def measure_analyze(
    running: Running,
    texts: Texts,
    admin_key: str,
    tmpdir: Path,
    args: argparse.Namespace,
    duration: float,
) -> dict[str, Any]:
    path = tmpdir / "analyze.txt"
    count = max(200, int(duration * args.texts_per_second))
    analysis.write_data(path, admin_key, args.threads, texts.take(count))
    try:
        result = run_wrk(
            running,
            "unique",
            path,
            duration=duration,
            connections=args.analyze_connections,
            threads=args.threads,
            script=analysis.SCRIPT,
        )
    finally:
        path.unlink(missing_ok=True)
    result["prepared_texts"] = count
    return result


def sanity_check(running: Running, user: seed.SeededUser, admin_key: str, texts: Texts) -> None:
    port, name = running.server.port, running.server.name
    status, body = servers.request(
        port, "GET", f"/v1/posts/{user.post_ids[0]}", {"X-API-Key": user.api_key}
    )
    if status != 200:
        raise RuntimeError(f"{name}: GET /v1/posts/{{id}} answered {status}: {body[:300]!r}")
    headers = {"X-API-Key": admin_key, "Content-Type": "application/json"}
    status, body = servers.request(port, "POST", "/v1/analyze", headers, texts.take(1)[0])
    if status != 200:
        raise RuntimeError(f"{name}: POST /v1/analyze answered {status}: {body[:300]!r}")


def order_of(items: Sequence[Any], round_index: int) -> list[Any]:
    """A B C in even rounds, C B A in odd ones."""
    return list(items) if round_index % 2 == 0 else list(reversed(items))


def load_phase(
    args: argparse.Namespace,
    contenders: list[Contender],
    env: dict[str, str],
    users: list[seed.SeededUser],
    admin_key: str,
    texts: Texts,
    tmpdir: Path,
    started: float,
) -> dict[str, Any]:
    data_path = tmpdir / "cached.lua"
    cache.write_data(data_path, users, args.hot_posts_per_user, 1.1)
    running: list[Running] = []
    out: dict[str, Any] = {c.key: {"label": c.label} for c in contenders}
    try:
        # One at a time, so that no start-up competes with another for the two cores.
        for c in contenders:
            r = start_server(c, env, tmpdir, c.key)
            running.append(r)
            wait_ready(r)
            out[c.key]["startup"] = {"first_200_s": r.first_200_s, "all_ready_s": r.all_ready_s}
            out[c.key]["command"] = shlex.join(r.server.process.args)  # type: ignore[arg-type]
            log(
                started,
                f"{c.key}: first 200 on /health/ready after {r.first_200_s:.2f}s, every worker "
                f"ready after {r.all_ready_s:.2f}s; workers {worker_pids(r.server)}",
            )
            sanity_check(r, users[0], admin_key, texts)
        if args.warmup > 0:
            for r in running:
                w = measure_get(r, data_path, args, args.warmup)
                a = measure_analyze(r, texts, admin_key, tmpdir, args, min(args.warmup, 2))
                out[r.contender.key]["warmup"] = {"get": w, "analyze": a}
                time.sleep(0.5)
        time.sleep(1)
        for r in running:
            out[r.contender.key]["memory_after_warmup"] = memory(r.server)
        rounds: list[dict[str, Any]] = []
        for i in range(args.rounds):
            measured: dict[str, dict[str, Any]] = {c.key: {} for c in contenders}
            for scenario in ("get", "analyze"):
                for r in order_of(running, i):
                    if scenario == "get":
                        m = measure_get(r, data_path, args, args.duration)
                    else:
                        m = measure_analyze(r, texts, admin_key, tmpdir, args, args.duration)
                    measured[r.contender.key][scenario] = m
                    time.sleep(0.5)
            rounds.append(measured)
            log(
                started,
                f"round {i + 1}/{args.rounds}: "
                + "; ".join(
                    f"{key} GET {m['get']['requests_per_s']:.0f}/s p99 {m['get']['p99_ms']:.1f}"
                    f" analyze {_ok(m['analyze']) / m['analyze']['duration_s']:.0f}/s"
                    f" p99 {m['analyze']['p99_ms']:.0f}"
                    for key, m in measured.items()
                ),
            )
        out["rounds"] = rounds
        for r in running:
            key = r.contender.key
            out[key]["memory_after_rounds"] = memory(r.server)
            out[key]["log_problems"] = r.server.log_problems()[:50]
        return out
    except Exception:
        for r in running:
            print(f"--- {r.server.name} log (tail) ---\n{r.server.log_tail()}", file=sys.stderr)
        raise
    finally:
        for r in running:
            servers.stop(r.server, timeout=40)


# -- graceful shutdown --------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers.get(b"connection") == b"close"


def _failure(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, asyncio.IncompleteReadError | EOFError):
        return "closed without answer"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    return type(exc).__name__


async def signal_trial(
    running: Running, api_key: str, body: bytes, args: argparse.Namespace, signum: int
) -> dict[str, Any]:
    """Steady slow requests, a signal to the master, and what every request and probe met.

    SIGTERM: until the master exits. SIGHUP (reload: every worker replaced): until the old
    workers are gone and as many new ones have finished starting, then one more provider delay.
    """
    server = running.server
    port = server.port
    loop = asyncio.get_running_loop()
    request = (
        f"POST /v1/generate HTTP/1.1\r\nHost: {servers.HOST}:{port}\r\nX-API-Key: {api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    probe_request = (
        f"GET /health/live HTTP/1.1\r\nHost: {servers.HOST}:{port}\r\nConnection: close\r\n\r\n"
    ).encode()
    records: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    stop = asyncio.Event()
    delay = args.shutdown_delay
    t0 = loop.time()

    async def client(i: int) -> None:
        await asyncio.sleep(i * delay / args.shutdown_clients)  # staggered: a steady load
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while not stop.is_set():
            sent, new = loop.time(), conn is None
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection(servers.HOST, port), timeout=5
                    )
                reader, writer = conn
                writer.write(request)
                await writer.drain()
                status, close = await asyncio.wait_for(_read_response(reader), timeout=60)
                outcome: str | int = status
                if close:
                    writer.close()
                    conn = None
            except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as exc:
                outcome = _failure(exc)
                if conn is not None:
                    conn[1].close()
                conn = None
            records.append(
                {
                    "client": i,
                    "sent": sent - t0,
                    "done": loop.time() - t0,
                    "outcome": outcome,
                    "new_connection": new,
                }
            )
            if outcome == "refused":
                await asyncio.sleep(0.05)
        if conn is not None:
            conn[1].close()

    async def probe() -> None:
        sent = loop.time()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(servers.HOST, port), timeout=5
            )
            try:
                writer.write(probe_request)
                await writer.drain()
                status, _ = await asyncio.wait_for(_read_response(reader), timeout=60)
                outcome: str | int = status
            finally:
                writer.close()
        except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as exc:
            outcome = _failure(exc)
        probes.append({"sent": sent - t0, "done": loop.time() - t0, "outcome": outcome})

    tasks = [asyncio.create_task(client(i)) for i in range(args.shutdown_clients)]
    await asyncio.sleep(2 * delay + 0.5)
    # Which of the master's children are workers, and their live-gauge files, before the signal.
    pids = worker_pids(server)
    live_before = {
        pid: sorted(p.name for p in running.metrics_dir.glob(LIVE_GAUGE_GLOB.format(pid=pid)))
        for pid in pids
    }
    log_offset = server.log_path.stat().st_size
    signalled = loop.time() - t0
    os.kill(server.pid, signum)
    probe_tasks: list[asyncio.Task[None]] = []
    exited_at = reloaded_at = workers_gone_at = None
    new_pids: list[int] = []
    deadline = loop.time() + (60 if signum == signal.SIGTERM else 90)
    next_probe = next_look = loop.time()
    while loop.time() < deadline:
        now = loop.time()
        if now >= next_probe:
            probe_tasks.append(asyncio.create_task(probe()))
            next_probe = now + 0.05
        if workers_gone_at is None and all(_state(pid) in ("gone", "Z") for pid in pids):
            workers_gone_at = now - t0
        if server.process.poll() is not None:
            exited_at = now - t0
            break
        if signum == signal.SIGHUP and now >= next_look:
            next_look = now + 0.2
            new_pids = [p for p in worker_pids(server) if p not in pids]
            started = _log_since(server, log_offset).count(READY_MARKER)
            if workers_gone_at is not None and min(len(new_pids), started) >= len(pids):
                reloaded_at = now - t0
                break
        await asyncio.sleep(0.01)
    if signum == signal.SIGHUP and reloaded_at is not None:
        # The requests sent while the new workers started get their answers.
        settle = loop.time() + delay + 0.5
        while loop.time() < settle:
            probe_tasks.append(asyncio.create_task(probe()))
            await asyncio.sleep(0.05)
    else:
        probe_tasks.append(asyncio.create_task(probe()))  # one after the exit (or the deadline)
        await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait(tasks + probe_tasks, timeout=delay + 10)
    for t in tasks + probe_tasks:
        t.cancel()
    await asyncio.gather(*tasks, *probe_tasks, return_exceptions=True)

    live_after = {
        pid: sorted(p.name for p in running.metrics_dir.glob(LIVE_GAUGE_GLOB.format(pid=pid)))
        for pid in pids
    }
    return {
        "signal": signal.Signals(signum).name,
        "signalled_at_s": signalled,
        "exited_at_s": exited_at,
        "exit_code": server.process.returncode,
        "reloaded_at_s": reloaded_at,
        "workers_gone_at_s": workers_gone_at,
        "worker_pids": pids,
        "new_worker_pids": new_pids,
        "live_gauges_before": live_before,
        "live_gauges_after": live_after,
        "records": records,
        "probes": probes,
        "log_after_signal": _log_since(server, log_offset).splitlines()[-80:],
    }


def _log_since(server: servers.Server, offset: int) -> str:
    with server.log_path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


RACE_GUARD_S = 0.05


def shutdown_summary(trial: dict[str, Any]) -> dict[str, Any]:
    """Requests by when they were sent and how they ended; probes; the lifespan's evidence."""
    t = trial["signalled_at_s"]
    exited = trial["exited_at_s"]
    records = trial["records"]
    in_flight = [r for r in records if r["sent"] < t - RACE_GUARD_S and r["done"] > t]
    race = [r for r in records if t - RACE_GUARD_S <= r["sent"] < t]
    after = [r for r in records if r["sent"] >= t]

    def outcomes(rows: list[dict[str, Any]]) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in rows:
            key = str(r["outcome"])
            found[key] = found.get(key, 0) + 1
        return dict(sorted(found.items()))

    probes = [p for p in trial["probes"] if exited is None or p["sent"] < exited]
    served = [p for p in probes if p["outcome"] == 200]
    refused = [p for p in probes if p["outcome"] == "refused"]
    # Accepted by the kernel and held: answered by nothing until the master exited.
    held = [p for p in probes if p["outcome"] != 200 and p["done"] - p["sent"] > 0.25]
    workers = trial["live_gauges_before"]
    lifespan = {
        str(pid): (
            "unknown (no live-gauge file before)"
            if not before
            else ("ran to its end" if not trial["live_gauges_after"][pid] else "did not finish")
        )
        for pid, before in workers.items()
    }
    log_lines = trial["log_after_signal"]
    return {
        "exit_after_sigterm_s": None if exited is None else exited - t,
        "exit_code": trial["exit_code"],
        "in_flight": len(in_flight),
        "in_flight_failed": sum(1 for r in in_flight if r["outcome"] != 200),
        "in_flight_outcomes": outcomes(in_flight),
        "in_flight_last_answer_after_s": max((r["done"] - t for r in in_flight), default=None),
        "race_window": outcomes(race),
        "sent_after_sigterm": outcomes(after),
        "sent_after_sigterm_new_connections": outcomes([r for r in after if r["new_connection"]]),
        "probes": len(probes),
        "probe_outcomes": outcomes(probes),
        "probes_served": len(served),
        "last_probe_served_after_s": max((p["sent"] - t for p in served), default=None),
        "first_probe_refused_after_s": min((p["sent"] - t for p in refused), default=None),
        "probes_held": len(held),
        "first_probe": trial["probes"][0]["outcome"] if trial["probes"] else None,
        "lifespan_shutdown": lifespan,
        "log_shutdown_complete": sum("Application shutdown complete" in ln for ln in log_lines),
        "log_problems": [
            ln for ln in log_lines if any(m in ln for m in ("Traceback", "ERROR", "Exception"))
        ][:20],
    }


def reload_summary(trial: dict[str, Any]) -> dict[str, Any]:
    """A reload (SIGHUP) must lose nothing: every request and probe sent from the signal until
    the new workers have started gets a 200; how long the slowest waited."""
    t = trial["signalled_at_s"]
    records = [r for r in trial["records"] if r["done"] > t - RACE_GUARD_S]
    probes = trial["probes"]

    def outcomes(rows: list[dict[str, Any]]) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in rows:
            found[str(r["outcome"])] = found.get(str(r["outcome"]), 0) + 1
        return dict(sorted(found.items()))

    reloaded = trial["reloaded_at_s"]
    ok = [r for r in records if r["outcome"] == 200]
    ok_probes = [p for p in probes if p["outcome"] == 200]
    before = trial["live_gauges_before"]
    return {
        "reload_s": None if reloaded is None else reloaded - t,
        "still_running": trial["exited_at_s"] is None,
        "requests": len(records),
        "outcomes": outcomes(records),
        "failed": sum(1 for r in records if r["outcome"] != 200),
        "slowest_answer_s": max((r["done"] - r["sent"] for r in ok), default=None),
        "probes": len(probes),
        "probe_outcomes": outcomes(probes),
        "probes_failed": sum(1 for p in probes if p["outcome"] != 200),
        "slowest_probe_s": max((p["done"] - p["sent"] for p in ok_probes), default=None),
        "old_worker_pids": trial["worker_pids"],
        "new_worker_pids": trial["new_worker_pids"],
        "lifespan_shutdown": {
            str(pid): (
                "unknown (no live-gauge file before)"
                if not files
                else ("ran to its end" if not trial["live_gauges_after"][pid] else "did not finish")
            )
            for pid, files in before.items()
        },
    }


def shutdown_phase(
    args: argparse.Namespace,
    contenders: list[Contender],
    env: dict[str, str],
    api_key: str,
    tmpdir: Path,
    started: float,
) -> dict[str, Any]:
    fake = generation.start_fake(
        argparse.Namespace(delay=args.shutdown_delay, same_text=False), tmpdir
    )
    out: dict[str, Any] = {}
    body = orjson.dumps({**generation.BRIEF, "temperature": 0.7, "variants": 1})
    trial_env = {
        **env,
        "LP_AI_PROVIDER": "openai",
        "LP_AI_BASE_URL": f"http://{servers.HOST}:{fake.port}/v1",
        "LP_AI_API_KEY": "bench",
        "LP_AI_DAILY_TOKENS_PER_USER": "0",
    }
    try:
        # The reverse of the load phase's order.
        for c in reversed(contenders):
            extra = c.kind.reload_flags if args.reload_flags == "tuned" else ()
            r = start_server(c, trial_env, tmpdir, f"{c.key}-signals", extra)
            try:
                wait_ready(r)
                headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
                status, answer = servers.request(
                    r.server.port, "POST", "/v1/generate", headers, body
                )
                if status != 200:
                    raise RuntimeError(
                        f"{c.key}: POST /v1/generate answered {status}: {answer[:300]!r}"
                    )
                reload = None
                if not args.no_reload:
                    reload = asyncio.run(signal_trial(r, api_key, body, args, signal.SIGHUP))
                    if r.server.process.poll() is not None:
                        raise RuntimeError(f"{c.key} exited on SIGHUP:\n{r.server.log_tail()}")
                trial = asyncio.run(signal_trial(r, api_key, body, args, signal.SIGTERM))
            except Exception:
                print(f"--- {r.server.name} log (tail) ---\n{r.server.log_tail()}", file=sys.stderr)
                raise
            finally:
                servers.stop(r.server, timeout=5)
            s = shutdown_summary(trial)
            out[c.key] = {
                "startup": {"first_200_s": r.first_200_s, "all_ready_s": r.all_ready_s},
                "trial": trial,
                "summary": s,
            }
            if reload is not None:
                rs = reload_summary(reload)
                out[c.key]["reload_trial"] = reload
                out[c.key]["reload_summary"] = rs
                took = rs["reload_s"]
                log(
                    started,
                    f"{c.key} SIGHUP: workers replaced after "
                    + ("(not in 90 s)" if took is None else f"{took:.2f}s")
                    + f", requests {rs['outcomes']}, slowest answer {_f(rs['slowest_answer_s'], 2)}"
                    f"s, probes {rs['probe_outcomes']}, old workers' lifespan "
                    f"{rs['lifespan_shutdown']}",
                )
            exit_s = s["exit_after_sigterm_s"]
            log(
                started,
                f"{c.key} SIGTERM: exit after "
                + ("(no exit in 60 s)" if exit_s is None else f"{exit_s:.2f}s")
                + f", in flight {s['in_flight']} failed {s['in_flight_failed']}, "
                f"probes {s['probe_outcomes']}, lifespan {s['lifespan_shutdown']}",
            )
    finally:
        servers.stop(fake)
    return out


# -- summaries and tables -----------------------------------------------------------------------


def _ok(m: dict[str, Any]) -> int:
    return int(m["statuses"].get("200", 0))


def _bad(m: dict[str, Any]) -> dict[str, int]:
    found = {c: n for c, n in m["statuses"].items() if not c.startswith("2")}
    for kind, n in m["socket_errors"].items():
        if n:
            found[f"socket {kind}"] = n
    return found


def _busiest(m: dict[str, Any]) -> float:
    """The busiest worker's share of the workers' CPU time during a measurement."""
    cpu = list(m["worker_cpu_s"].values())
    return max(cpu) / sum(cpu) if sum(cpu) else 0.0


def _cpu_per(m: dict[str, Any], unit: str) -> float:
    """Server CPU seconds per request (or per answer 200)."""
    count = m["requests"] if unit == "requests" else _ok(m)
    return float(m["cpu_s"]["server"]) / count if count else float("inf")


def _mb(kib: int | None) -> float:
    return (kib or 0) / 1024


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, label in results["config"]["labels"].items():
        out[key] = {"label": label}
        if "load" in results:
            out[key].update(load_summary(results, key))
        if key in results.get("shutdown", {}):
            sd = results["shutdown"][key]
            out[key]["shutdown"] = sd["summary"]
            if "reload_summary" in sd:
                out[key]["reload"] = sd["reload_summary"]
            out[key]["startup_again_first_200_s"] = sd["startup"]["first_200_s"]
            out[key]["startup_again_all_ready_s"] = sd["startup"]["all_ready_s"]
    return out


def load_summary(results: dict[str, Any], key: str) -> dict[str, Any]:
    """Medians over the rounds, and each ratio the median of the rounds' own ratios."""
    load = results["load"]
    rounds = load["rounds"]
    base = results["config"]["baseline"]
    get = [r[key]["get"] for r in rounds]
    ana = [r[key]["analyze"] for r in rounds]

    def per_s(m: dict[str, Any]) -> float:
        return _ok(m) / m["duration_s"] if m["duration_s"] else 0.0

    mem = load[key]["memory_after_warmup"]
    mem_end = load[key]["memory_after_rounds"]
    errors: dict[str, dict[str, int]] = {"get": {}, "analyze": {}}
    for route, ms in (("get", get), ("analyze", ana)):
        for m in ms:
            for code, n in _bad(m).items():
                errors[route][code] = errors[route].get(code, 0) + n
    return {
        "get_rps": statistics.median(m["requests_per_s"] for m in get),
        "get_each_round": [m["requests_per_s"] for m in get],
        "get_vs_base": statistics.median(
            r[key]["get"]["requests_per_s"] / r[base]["get"]["requests_per_s"] for r in rounds
        ),
        "get_p50_ms": statistics.median(m["p50_ms"] for m in get),
        "get_p99_ms": statistics.median(m["p99_ms"] for m in get),
        "get_cpu_ms": sum(m["cpu_s"]["server"] for m in get)
        * 1000
        / max(1, sum(m["requests"] for m in get)),
        "get_hit_l1": sum(m["extra"].get("x_cache", {}).get("HIT-L1", 0) for m in get)
        / max(1, sum(m["requests"] for m in get)),
        "analyze_ok_per_s": statistics.median(per_s(m) for m in ana),
        "analyze_each_round": [per_s(m) for m in ana],
        "analyze_vs_base": statistics.median(
            per_s(r[key]["analyze"]) / per_s(r[base]["analyze"]) for r in rounds
        ),
        "analyze_p50_ms": statistics.median(m["p50_ms"] for m in ana),
        "analyze_p99_ms": statistics.median(m["p99_ms"] for m in ana),
        "analyze_cpu_ms": sum(m["cpu_s"]["server"] for m in ana)
        * 1000
        / max(1, sum(_ok(m) for m in ana)),
        "analyze_ran_out": sum(m["extra"].get("threads_ran_out", 0) for m in ana),
        # CPU per request depends much less on the neighbours than requests/s: with the two
        # cores always busy, a server's share of them is the scheduler's to give.
        "get_cpu_vs_base": statistics.median(
            _cpu_per(r[base]["get"], "requests") / _cpu_per(r[key]["get"], "requests")
            for r in rounds
        ),
        "analyze_cpu_vs_base": statistics.median(
            _cpu_per(r[base]["analyze"], "ok") / _cpu_per(r[key]["analyze"], "ok") for r in rounds
        ),
        "get_cores": statistics.median(m["cpu_s"]["server"] / m["duration_s"] for m in get),
        "analyze_cores": statistics.median(m["cpu_s"]["server"] / m["duration_s"] for m in ana),
        "machine_busy": statistics.median(
            m["cpu_s"]["machine_busy"] / m["cpu_s"]["machine_capacity"]
            for m in get + ana
            if m["cpu_s"]["machine_capacity"]
        ),
        "get_busiest_worker_share": statistics.median(_busiest(m) for m in get),
        "analyze_busiest_worker_share": statistics.median(_busiest(m) for m in ana),
        "errors": errors,
        "server_errors_5xx": sum(m["server_errors_5xx"] for m in get + ana),
        "error_samples": [s for m in get + ana for s in m["error_samples"]][:5],
        "rss_worker_mb": max(_mb(w["rss_kib"]) for w in mem["workers"]),
        "pss_worker_mb": max(_mb(w["pss_kib"]) for w in mem["workers"]),
        "rss_master_mb": _mb(mem["master"]["rss_kib"]) if mem["master"] else 0.0,
        "rss_worker_end_mb": max(_mb(w["rss_kib"]) for w in mem_end["workers"]),
        "total_pss_mb": sum(_mb(w["pss_kib"]) for w in mem["workers"])
        + (_mb(mem["master"]["pss_kib"]) if mem["master"] else 0.0),
        "startup_first_200_s": load[key]["startup"]["first_200_s"],
        "startup_all_ready_s": load[key]["startup"]["all_ready_s"],
        "log_problems": load[key]["log_problems"],
    }


def _f(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "?"
    return f"{value:.{digits}f}" if value < 100 else f"{value:.0f}"


def _errors(s: dict[str, Any], route: str) -> str:
    if not s["errors"][route]:
        return "0"
    return ", ".join(f"{k}: {n}" for k, n in s["errors"][route].items())


def load_table(results: dict[str, Any]) -> str:
    summary = results["summary"]
    base = results["config"]["baseline"]
    rows = [
        f"| server | route | req/s (200s) | ÷ {base} | p50 ms | p99 ms | server CPU ms/req "
        f"| ÷ {base} by CPU/req | server cores | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route, p in (("`GET /v1/posts/{id}` cached", "get"), ("`POST /v1/analyze` new", "analyze")):
        for s in summary.values():
            rate = s["get_rps"] if p == "get" else s["analyze_ok_per_s"]
            ran_out = ""
            if p == "analyze" and s["analyze_ran_out"]:
                ran_out = f" (ran out of texts: {s['analyze_ran_out']})"
            rows.append(
                f"| {s['label']} | {route} | {rate:.0f}{ran_out} | {s[p + '_vs_base']:.0%} "
                f"| {_f(s[p + '_p50_ms'])} | {_f(s[p + '_p99_ms'])} | {s[p + '_cpu_ms']:.3f} "
                f"| {s[p + '_cpu_vs_base']:.0%} | {s[p + '_cores']:.2f} | {_errors(s, p)} |"
            )
    return "\n".join(rows)


def rounds_table(results: dict[str, Any]) -> str:
    rows = [
        "| server | GET req/s each round | analyze 200/s each round | X-Cache HIT-L1 "
        "| busiest worker's share of CPU: GET / analyze |",
        "|---|---|---|---:|---:|",
    ]
    for s in results["summary"].values():
        rows.append(
            f"| {s['label']} | {' / '.join(f'{v:.0f}' for v in s['get_each_round'])} "
            f"| {' / '.join(f'{v:.0f}' for v in s['analyze_each_round'])} "
            f"| {s['get_hit_l1']:.1%} | {s['get_busiest_worker_share']:.0%} / "
            f"{s['analyze_busiest_worker_share']:.0%} |"
        )
    return "\n".join(rows)


def resources_table(results: dict[str, Any]) -> str:
    rows = [
        "| server | RSS/worker MB after warm-up | PSS/worker MB | master RSS MB "
        "| whole server PSS MB | RSS/worker MB after the rounds | start-up: first 200 s "
        "| start-up: every worker s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["summary"].values():
        again = ""
        if s.get("startup_again_first_200_s") is not None:
            again = f" / {s['startup_again_first_200_s']:.2f}"
        again_all = ""
        if s.get("startup_again_all_ready_s") is not None:
            again_all = f" / {s['startup_again_all_ready_s']:.2f}"
        rows.append(
            f"| {s['label']} | {s['rss_worker_mb']:.0f} | {s['pss_worker_mb']:.0f} "
            f"| {s['rss_master_mb']:.0f} | {s['total_pss_mb']:.0f} | {s['rss_worker_end_mb']:.0f} "
            f"| {s['startup_first_200_s']:.2f}{again} | {s['startup_all_ready_s']:.2f}{again_all} |"
        )
    return "\n".join(rows)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in counts.items()) or "none"


def shutdown_table(results: dict[str, Any]) -> str:
    rows = [
        "| server | exit after SIGTERM s | in flight at SIGTERM | of them failed | last in-flight "
        "answer s | requests sent after SIGTERM | new-connection probes | lifespan shutdown "
        "per worker |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for s in results["summary"].values():
        sd = s.get("shutdown")
        if sd is None:
            continue
        probes = _counts(sd["probe_outcomes"])
        if sd["last_probe_served_after_s"] is not None:
            probes += f"; last served +{sd['last_probe_served_after_s']:.2f}s"
        if sd["first_probe_refused_after_s"] is not None:
            probes += f"; first refused +{sd['first_probe_refused_after_s']:.2f}s"
        if sd["probes_held"]:
            probes += f"; {sd['probes_held']} held (no answer for > 0.25 s)"
        lifespan = ", ".join(sorted(set(sd["lifespan_shutdown"].values())))
        n = len(sd["lifespan_shutdown"])
        rows.append(
            f"| {s['label']} | {_f(sd['exit_after_sigterm_s'], 2)} | {sd['in_flight']} "
            f"| {sd['in_flight_failed']} | {_f(sd['in_flight_last_answer_after_s'], 2)} "
            f"| {_counts(sd['sent_after_sigterm'])} | {probes} | {lifespan} ({n} workers) |"
        )
    return "\n".join(rows)


def reload_table(results: dict[str, Any]) -> str:
    rows = [
        "| server | workers replaced after SIGHUP s | requests answered during the reload "
        "| failed | slowest answer s | new-connection probes | slowest probe s "
        "| old workers' lifespan shutdown |",
        "|---|---:|---|---:|---:|---|---:|---|",
    ]
    for s in results["summary"].values():
        rs = s.get("reload")
        if rs is None:
            continue
        lifespan = ", ".join(sorted(set(rs["lifespan_shutdown"].values())))
        rows.append(
            f"| {s['label']} | {_f(rs['reload_s'], 2)} | {_counts(rs['outcomes'])} "
            f"| {rs['failed']} | {_f(rs['slowest_answer_s'], 2)} | {_counts(rs['probe_outcomes'])} "
            f"| {_f(rs['slowest_probe_s'], 2)} | {lifespan} |"
        )
    return "\n".join(rows)


# -- the run ------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {}
    for name in ("granian", "gunicorn", "uvicorn-worker", "uvloop", "httptools", "redis"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    done = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, timeout=10)
    found["redis-server"] = done.stdout.strip()
    return found


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    loadgen.wrk_path()  # fail before creating anything
    contenders = [
        Contender(KINDS[name], workers, redis_db=i + 1)
        for i, (name, workers) in enumerate(
            (name, workers) for name in args.kind_list for workers in args.worker_counts
        )
    ]
    run_seed = int(time.time() * 1000) % 2**31
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
        },
        "config": {
            "command": shlex.join([servers.interpreter(), "bench/production_servers.py", *argv]),
            "contenders": [c.key for c in contenders],
            "labels": {c.key: c.label for c in contenders},
            "commands": {
                c.key: shlex.join(c.kind.command(0, c.workers, Path("$TMP"), ()))
                for c in contenders
            },
            "reload_flags": {
                c.key: list(c.kind.reload_flags if args.reload_flags == "tuned" else ())
                for c in contenders
            },
            "baseline": contenders[0].key,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "get_connections": args.get_connections,
            "analyze_connections": args.analyze_connections,
            "threads": args.threads,
            "users": args.users,
            "posts_per_user": args.posts_per_user,
            "hot_posts": args.users * args.hot_posts_per_user,
            "texts_seed": run_seed,
            "shutdown_clients": args.shutdown_clients,
            "shutdown_delay_s": args.shutdown_delay,
            "reload_trials": not args.no_reload,
            "granian_flags": list(GRANIAN_FLAGS),
            "gunicorn_worker": GUNICORN_WORKER_SOURCE,
            "settings": args.settings,
        },
    }
    results["meta"]["versions"].update(versions())
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    with tempfile.TemporaryDirectory(prefix="lp-bench-prod-") as tmp:
        tmpdir = Path(tmp)
        (tmpdir / f"{GUNICORN_WORKER_MODULE}.py").write_text(GUNICORN_WORKER_SOURCE)
        redis_process, redis_port = start_redis(tmpdir)
        log(started, f"throwaway Redis on port {redis_port}")
        try:
            seed.create_database(args.database_url, name)
            log(started, f"created database {name}")
            try:
                seed.migrate(database_url, seed.clean_env())
                seeded = seed.seed(
                    database_url, users=args.users, posts_per_user=args.posts_per_user
                )
                admin_key = seed.add_admin(database_url)
                results["meta"]["seed"] = {"posts": seeded.posts, "seconds": seeded.seconds}
                texts = Texts(run_seed)
                log(started, f"seeded {len(seeded.users)} users, {seeded.posts} posts")
                env = base_env(args, database_url, redis_port)
                if not args.no_load:
                    results["load"] = load_phase(
                        args, contenders, env, seeded.users, admin_key, texts, tmpdir, started
                    )
                if not args.no_shutdown:
                    results["shutdown"] = shutdown_phase(
                        args, contenders, env, admin_key, tmpdir, started
                    )
            finally:
                for server_log in sorted(tmpdir.glob("*.log")):
                    results.setdefault("server_logs_tail", {})[server_log.name] = (
                        server_log.read_text(errors="replace").splitlines()[-30:]
                    )
                seed.drop_database(args.database_url, name)
                log(started, f"dropped database {name}")
        finally:
            stop_process(redis_process)
    results["meta"]["elapsed_s"] = time.monotonic() - started
    results["summary"] = summarize(results)
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(run, args, argv)
    if saved is None:
        return 130
    results, shown = saved
    cfg = results["config"]
    if "load" in results:
        print()
        print(
            f"GET /v1/posts/{{id}} (cached) at {cfg['get_connections']} connections, POST "
            f"/v1/analyze (every text new) at {cfg['analyze_connections']}; {cfg['rounds']} "
            f"rounds of {cfg['duration_s']:g} s, medians; ratios to {cfg['baseline']} in the "
            "same rounds"
        )
        print()
        print(load_table(results))
        print()
        print(rounds_table(results))
        print()
        print(resources_table(results))
    if "shutdown" in results:
        print()
        print(shutdown_table(results))
        if any("reload" in s for s in results["summary"].values()):
            print()
            print(reload_table(results))
    print(f"\nraw results: {shown}")
    bugs = []
    for key, s in results["summary"].items():
        if s.get("server_errors_5xx"):
            bugs.append(f"BUG: 5xx responses from {key}: {s['error_samples'][:2]}")
        if s.get("log_problems"):
            print(f"note: {key} logged problems: {s['log_problems'][:3]}")
        sd = s.get("shutdown")
        if sd and sd["in_flight_failed"]:
            print(f"note: {key} failed {sd['in_flight_failed']} request(s) in flight at SIGTERM")
        rs = s.get("reload")
        if rs and (rs["failed"] or rs["probes_failed"] or rs["reload_s"] is None):
            print(
                f"note: {key} on SIGHUP: {rs['failed']} request(s) and {rs['probes_failed']} "
                "probe(s) failed"
                + (", workers not replaced in 90 s" if rs["reload_s"] is None else "")
            )
    for bug in bugs:
        print(bug)
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
