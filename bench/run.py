"""Benchmark the API against PostgreSQL, each scenario beside a FastAPI hello-world.

For each worker count (1 and 2): start `linkedin-posts serve` on a throwaway, seeded database
and a hello-world with the same uvicorn settings, then for each scenario measure the hello-world
and the scenario with wrk, one right after the other, for the same duration and connections.
Prints a markdown table, writes the raw results to bench/results/<UTC time>-<label>.json and the
summary into docs/benchmarks.md. Loopback only; every step is bounded in time; the servers are
stopped and the database dropped however the run ends.

    make bench
    make bench BENCH_ARGS="--duration 30 --workers 2"
    .venv/bin/python bench/run.py --help
"""

import argparse
import asyncio
import json
import os
import platform
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import loadgen
import report
import seed
import servers
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("get_post", "list_posts", "create_post")


def add_settings_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--set LP_NAME=VALUE`, repeatable: extra settings for the servers a bench starts."""
    parser.add_argument(
        "--set", action="append", default=[], metavar="LP_NAME=VALUE", help=help_text
    )


def settings_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """The `--set` items as environment variables; a malformed one stops the bench."""
    if any(not item.startswith("LP_") or "=" not in item for item in args.set):
        parser.error("--set takes LP_NAME=VALUE")
    return dict(item.split("=", 1) for item in args.set)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER_URL,
        help="PostgreSQL server to create the throwaway database on (default: %(default)s)",
    )
    parser.add_argument("--workers", default="1,2", help="worker counts (default: %(default)s)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="subset of %(default)s",
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds before each")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--posts-per-user", type=int, default=100)
    parser.add_argument("--label", default="foundation", help="suffix of the results file")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not update --docs")
    add_settings_option(
        parser, "an extra setting for the API server, e.g. LP_DB_POOL_SIZE=20 (repeatable)"
    )
    args = parser.parse_args(argv)
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenario_list) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1:
        parser.error("--duration, --connections and --threads must be at least 1")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    args.settings = settings_of(parser, args)
    return args


class Interrupted(BaseException):
    """SIGTERM or SIGHUP; like Ctrl-C, it unwinds without the server log dump of a failure."""


def on_signal(signum: int, _frame: FrameType | None) -> None:
    # Unwind through the finally blocks: servers stopped, database dropped.
    raise Interrupted(f"stopped by signal {signum}")


def log(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


def server_env(database_url: str, settings: dict[str, str]) -> dict[str, str]:
    return {
        **seed.clean_env(),
        "LP_DATABASE_URL": database_url,
        "LP_ENV": "production",
        "LP_SECRET_KEY": secrets.token_urlsafe(48),
        # The routes are measured, not the limits: each seeded user sends about 20 requests a
        # second, above the default read and write budgets, and wrk's 64 connections are above
        # the default in-flight cap. The limiter still counts each request.
        "LP_RATELIMIT_READ": "100000000/minute",
        "LP_RATELIMIT_WRITE": "100000000/minute",
        "LP_MAX_IN_FLIGHT": "1000",
        **settings,
    }


def sanity_check(api: servers.Server, user: seed.SeededUser) -> None:
    """One request of each scenario must succeed before anything is measured."""
    key = {"X-API-Key": user.api_key}
    status, body = servers.request(api.port, "GET", f"/v1/posts/{user.post_ids[0]}", key)
    if status != 200:
        raise RuntimeError(f"GET /v1/posts/{{id}} answered {status}: {body[:300]!r}")
    status, body = servers.request(api.port, "GET", "/v1/posts?limit=20", key)
    if status != 200 or len(json.loads(body)["items"]) != 20:
        raise RuntimeError(f"GET /v1/posts?limit=20 answered {status}: {body[:300]!r}")
    payload = json.dumps(loadgen.CREATE_BODIES[0]).encode()
    headers = {**key, "Content-Type": "application/json"}
    status, body = servers.request(api.port, "POST", "/v1/posts", headers, payload)
    if status != 201:
        raise RuntimeError(f"POST /v1/posts answered {status}: {body[:300]!r}")


def rss(server: servers.Server) -> dict[str, Any]:
    workers = [
        {
            "pid": pid,
            "rss_kib": servers.status_kib(pid, "VmRSS"),
            "hwm_kib": servers.status_kib(pid, "VmHWM"),
        }
        for pid in server.worker_pids()
    ]
    supervisor = None if server.workers == 1 else servers.status_kib(server.pid, "VmRSS")
    return {"workers": workers, "supervisor_rss_kib": supervisor}


def measure_group(
    args: argparse.Namespace,
    workers: int,
    database_url: str,
    users: list[seed.SeededUser],
    data_path: Path,
    logdir: Path,
    started: float,
) -> dict[str, Any]:
    # Each worker starts with every seeded post in memory (LP_CACHE_WARMUP_POSTS), as after a
    # minute of traffic: the measurements are of a service that has been up a while. Without
    # it, each worker's first ~10,000 reads were first reads (Redis, the database): most of a
    # measurement's p99.
    warm = {"LP_CACHE_WARMUP_POSTS": str(sum(len(user.post_ids) for user in users))}
    api = servers.start_api(
        workers=workers, env=server_env(database_url, {**warm, **args.settings}), logdir=logdir
    )
    hello = servers.start_hello(workers=workers, env=seed.clean_env(), logdir=logdir)
    try:
        probe = {"X-API-Key": users[0].api_key}
        api_ready = servers.wait_ready(api, "/v1/users/me", probe)
        hello_ready = servers.wait_ready(hello, "/")
        log(started, f"{workers} worker(s): servers ready ({api_ready:.1f}s / {hello_ready:.1f}s)")
        sanity_check(api, users[0])
        load = {"duration": args.duration, "connections": args.connections}
        load["threads"] = args.threads
        warm = {**load, "duration": args.warmup}
        database = seed.BenchDatabase(args.database_url, str(make_url(database_url).database))
        pairs, warmup_problems = [], []
        for scenario in args.scenario_list:
            measured = {}
            for server, name in ((hello, "hello"), (api, scenario)):
                db = database if server is api else None
                if args.warmup > 0:
                    w = loadgen.run_wrk(server, name, data_path, **warm, database=db)
                    if w.errors:
                        warmup_problems.append(w.as_dict())
                    time.sleep(0.5)
                measured[server.name] = loadgen.run_wrk(
                    server, name, data_path, **load, database=db
                )
            m, h = measured["api"], measured["hello"]
            log(
                started,
                f"{workers} worker(s) {scenario:<11} {m.requests_per_s:7.0f} req/s "
                f"p50 {m.p50_ms:6.1f} p99 {m.p99_ms:6.1f} ms errors {m.errors} | hello "
                f"{h.requests_per_s:7.0f} req/s p99 {h.p99_ms:5.1f} ms errors {h.errors}",
            )
            pairs.append({"scenario": m.as_dict(), "hello": h.as_dict(), "rss_after": rss(api)})
        return {
            "workers": workers,
            "pairs": pairs,
            "rss_after_run": rss(api),
            "hello_rss_after_run": rss(hello),
            "warmup_errors": warmup_problems,
            "server_log_problems": {
                "api": api.log_problems()[:50],
                "hello": hello.log_problems()[:50],
            },
        }
    except Exception:
        print(f"--- api server log (tail) ---\n{api.log_tail()}", file=sys.stderr)
        print(f"--- hello server log (tail) ---\n{hello.log_tail()}", file=sys.stderr)
        raise
    finally:
        servers.stop(api)
        servers.stop(hello)


def _git(*command: str) -> str:
    try:
        done = subprocess.run(
            ["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _postgres_version(database_url: str) -> str:
    async def query() -> str:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return str(await conn.scalar(text("SHOW server_version")))
        finally:
            await engine.dispose()

    return asyncio.run(query())


def metadata_of_run(args: argparse.Namespace) -> dict[str, Any]:
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "mem_gib": mem_kib / 1024 / 1024,
            "kernel": platform.release(),
            "loadavg_at_start": servers.loadavg(),
        },
        "versions": {
            "python": platform.python_version(),
            **{
                name: metadata.version(name)
                for name in ("fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "pydantic")
            },
            "postgresql": _postgres_version(args.database_url),
            "wrk": loadgen.wrk_version(),
        },
        "git": {
            "commit": _git("rev-parse", "HEAD") or "unknown",
            "src_dirty": bool(_git("status", "--porcelain", "--", "src")),
        },
    }


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    loadgen.wrk_path()  # fail before creating anything
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
        },
        "config": {
            "command": "make bench" + (f' BENCH_ARGS="{shlex.join(argv)}"' if argv else ""),
            "direct_command": shlex.join([servers.interpreter(), "bench/run.py", *argv]),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "users": args.users,
            "posts_per_user": args.posts_per_user,
            "workers": args.worker_counts,
            "scenarios": args.scenario_list,
            "server": "linkedin-posts serve --workers N --no-access-log (uvloop, httptools), "
            "LP_ENV=production, default pool settings",
        },
        "groups": [],
    }
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    with tempfile.TemporaryDirectory(prefix="lp-bench-") as tmp:
        tmpdir = Path(tmp)
        seed.create_database(args.database_url, name)
        log(started, f"created database {name}")
        try:
            seed.migrate(database_url, seed.clean_env())
            seeded = seed.seed(database_url, users=args.users, posts_per_user=args.posts_per_user)
            results["meta"]["seed"] = {"posts": seeded.posts, "seconds": seeded.seconds}
            log(started, f"seeded {len(seeded.users)} users, {seeded.posts} posts")
            data_path = tmpdir / "data.lua"
            loadgen.write_data(data_path, seeded.users)
            last_seeded = max(post for user in seeded.users for post in user.post_ids)
            for workers in args.worker_counts:
                if deleted := seed.delete_posts_after(database_url, last_seeded):
                    log(started, f"deleted the {deleted} posts the last group created")
                group = measure_group(
                    args, workers, database_url, seeded.users, data_path, tmpdir, started
                )
                results["groups"].append(group)
        finally:
            seed.drop_database(args.database_url, name)
            log(started, f"dropped database {name}")
    results["meta"]["elapsed_s"] = time.monotonic() - started
    results["targets"] = report.targets(results)
    return results


def run_and_save(
    run: Callable[[argparse.Namespace, list[str]], dict[str, Any]],
    args: argparse.Namespace,
    argv: list[str],
) -> tuple[dict[str, Any], str] | None:
    """Run a benchmark, stopping cleanly on SIGTERM, SIGHUP or Ctrl-C (None), and write its raw
    results to args.results_dir; return them with the file's path as the docs show it."""
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        results = run(args, argv)
    except (Interrupted, KeyboardInterrupt) as exc:
        reason = exc or "Ctrl-C"
        print(f"interrupted ({reason}): servers stopped, database dropped", file=sys.stderr)
        return None

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.results_dir / f"{stamp}-{args.label}.json"
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    try:
        shown = results_path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        shown = str(results_path)
    return results, shown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(run, args, argv)
    if saved is None:
        return 130
    results, shown = saved

    print()
    print(report.results_table(results))
    print()
    print(report.targets_table(results))
    print()
    print(report.cpu_table(results))
    print(f"\nraw results: {shown}")
    if not args.no_docs:
        report.update_docs(args.docs, results, shown)
        print(f"updated {args.docs}")

    fivexx = [
        (g["workers"], p["scenario"]["scenario"], p["scenario"]["error_samples"])
        for g in results["groups"]
        for p in g["pairs"]
        if p["scenario"]["server_errors_5xx"]
    ]
    for workers, scenario, samples in fivexx:
        print(f"BUG: 5xx responses in {scenario} with {workers} worker(s): {samples[:2]}")
    return 1 if fivexx else 0


if __name__ == "__main__":
    sys.exit(main())
