"""What observability costs, and whether a long run leaks: the two benchmarks of [observability].

    .venv/bin/python bench/observability.py cost   # GET /v1/posts/{id}, everything on vs off
    .venv/bin/python bench/observability.py soak   # 1,000,000 mixed requests on 2 workers
    .venv/bin/python bench/observability.py flame  # py-spy flame graph of GET /v1/posts/{id}

`cost` starts two API servers on one seeded PostgreSQL database, one with metrics and the access
log on (the defaults), one with both off (LP_METRICS_ENABLED=false, --no-access-log), and
measures them alternately (on, off, off, on, ...) with wrk, so drifts of this shared machine hit
both alike. `soak` runs a mixed load (80% reads, 15% list pages, 5% creates) against 2 workers
with everything on, and reads each worker's RSS after a warm-up and at the end. Loopback only,
bounded in time and requests; servers stopped and database dropped however the run ends.
"""

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import loadgen
import seed
import servers

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def api_env(database_url: str, **settings: str) -> dict[str, str]:
    return {
        **seed.clean_env(),
        "LP_DATABASE_URL": database_url,
        "LP_ENV": "production",
        "LP_SECRET_KEY": secrets.token_urlsafe(48),
        **settings,
    }


def rss_mib(server: servers.Server) -> list[float]:
    return [
        round((servers.status_kib(pid, "VmRSS") or 0) / 1024, 1) for pid in server.worker_pids()
    ]


def start(
    name: str, env: dict[str, str], workers: int, logdir: Path, *, access_log: bool, probe_key: str
) -> servers.Server:
    server = servers.start_api(
        workers=workers, env=env, logdir=logdir, name=name, access_log=access_log
    )
    servers.wait_ready(server, "/v1/users/me", {"X-API-Key": probe_key})
    return server


def cost(
    args: argparse.Namespace,
    database_url: str,
    users: list[seed.SeededUser],
    data: Path,
    logdir: Path,
) -> dict[str, Any]:
    probe = users[0].api_key
    on = start("on", api_env(database_url), 1, logdir, access_log=True, probe_key=probe)
    # --only metrics|access-log turns off just that part, to tell their costs apart; --only
    # nothing runs two identical servers: the bias of the method itself.
    metrics_off = args.only in (None, "metrics")
    off_env = api_env(database_url, LP_METRICS_ENABLED=str(not metrics_off).lower())
    off_log = args.only in ("metrics", "nothing")
    off = start("off", off_env, 1, logdir, access_log=off_log, probe_key=probe)
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    try:
        load = {"duration": args.duration, "connections": args.connections, "threads": 2}
        for server in (on, off):  # warm-up, unrecorded
            loadgen.run_wrk(server, "get_post", data, **{**load, "duration": 3})
        for round_ in range(args.rounds):
            order = (on, off) if round_ % 2 == 0 else (off, on)
            for server in order:
                measured = loadgen.run_wrk(server, "get_post", data, **load)
                runs[server.name].append(measured.as_dict())
                print(
                    f"round {round_ + 1} {server.name:3} {measured.requests_per_s:8.0f} req/s "
                    f"p99 {measured.p99_ms:7.1f} ms errors {measured.errors}",
                    flush=True,
                )
    finally:
        servers.stop(on)
        servers.stop(off)
    median = {name: statistics.median(r["requests_per_s"] for r in rs) for name, rs in runs.items()}
    summary = {
        "median_rps_on": median["on"],
        "median_rps_off": median["off"],
        "cost_percent": round((1 - median["on"] / median["off"]) * 100, 1),
        "errors": sum(r["errors"] for rs in runs.values() for r in rs),
    }
    print(json.dumps(summary))
    return {"runs": runs, "summary": summary}


def soak(
    args: argparse.Namespace,
    database_url: str,
    users: list[seed.SeededUser],
    data: Path,
    logdir: Path,
) -> dict[str, Any]:
    api = start(
        "soak", api_env(database_url), 2, logdir, access_log=True, probe_key=users[0].api_key
    )
    load = {"connections": args.connections, "threads": 2}
    try:
        # wrk always runs for its whole duration, so the main run's duration is sized from the
        # warm-up's rate (plus 15%), and each wrk thread stops sending at its share of requests.
        warm = loadgen.run_wrk(api, "mixed", data, duration=args.warmup_seconds, **load)
        rss_warm = rss_mib(api)
        print(
            f"warm-up: {warm.requests} requests, {warm.errors} errors, RSS {rss_warm} MiB",
            flush=True,
        )
        remaining = max(0, args.requests - warm.requests)
        duration = min(args.max_seconds, remaining / warm.requests_per_s * 1.15 + 5)
        main = loadgen.run_wrk(
            api, "mixed", data, duration=duration, limit=-(-remaining // 2), **load
        )
        rss_end = rss_mib(api)
    finally:
        servers.stop(api)
    growth = [
        round((end / warm_ - 1) * 100, 1) for warm_, end in zip(rss_warm, rss_end, strict=True)
    ]
    summary = {
        "requests": warm.requests + main.requests,
        "requests_per_s": main.requests_per_s,
        "p99_ms": main.p99_ms,
        "errors": warm.errors + main.errors,
        "statuses": main.statuses,
        "rss_after_warmup_mib": rss_warm,
        "rss_at_end_mib": rss_end,
        "rss_growth_percent": growth,
    }
    print(json.dumps(summary))
    return {"warmup": warm.as_dict(), "main": main.as_dict(), "summary": summary}


def flame(
    args: argparse.Namespace,
    database_url: str,
    users: list[seed.SeededUser],
    data: Path,
    logdir: Path,
) -> dict[str, Any]:
    api = start(
        "flame", api_env(database_url), 1, logdir, access_log=True, probe_key=users[0].api_key
    )
    out = ROOT / "docs" / "images" / "flamegraph-get-post.svg"
    out.parent.mkdir(parents=True, exist_ok=True)
    load = {"connections": args.connections, "threads": 2, "duration": args.duration + 4}
    measured: list[loadgen.Measurement] = []
    try:
        wrk = threading.Thread(
            target=lambda: measured.append(loadgen.run_wrk(api, "get_post", data, **load))
        )
        wrk.start()
        time.sleep(2)  # let wrk reach full load before sampling
        [worker] = api.worker_pids()
        record = [str(servers.BIN / "py-spy"), "record", "--pid", str(worker)]
        record += ["--duration", str(int(args.duration)), "--rate", "250", "--output", str(out)]
        subprocess.run(record, check=True, capture_output=True, timeout=args.duration + 60)
        wrk.join(timeout=args.duration + 120)
    finally:
        servers.stop(api)
    print(f"flame graph: {out.relative_to(ROOT)} ({measured[0].requests_per_s:.0f} req/s)")
    return {"svg": str(out.relative_to(ROOT)), "load": measured[0].as_dict()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["cost", "soak", "flame"])
    parser.add_argument("--database-url", default=SERVER_URL)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10, help="cost: seconds per run")
    parser.add_argument("--rounds", type=int, default=4, help="cost: runs per server")
    parser.add_argument(
        "--only", choices=["metrics", "access-log", "nothing"], help="cost: turn off only this part"
    )
    parser.add_argument("--requests", type=int, default=1_000_000, help="soak: total requests")
    parser.add_argument("--warmup-seconds", type=float, default=60, help="soak: warm-up")
    parser.add_argument("--max-seconds", type=float, default=3000, help="soak: time bound")
    args = parser.parse_args()
    loadgen.wrk_path()
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lp-obs-bench-") as tmp:
        seed.create_database(args.database_url, name)
        try:
            seed.migrate(database_url, seed.clean_env())
            seeded = seed.seed(database_url, users=100, posts_per_user=100)
            data = Path(tmp) / "data.lua"
            loadgen.write_data(data, seeded.users)
            run = {"cost": cost, "soak": soak, "flame": flame}[args.mode]
            result = run(args, database_url, seeded.users, data, Path(tmp))
        finally:
            seed.drop_database(args.database_url, name)
    result["meta"] = {
        "command": " ".join([".venv/bin/python", "bench/observability.py", *sys.argv[1:]]),
        "elapsed_s": round(time.monotonic() - started, 1),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_end": servers.loadavg(),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"{stamp}-observability-{args.mode}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"raw results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
