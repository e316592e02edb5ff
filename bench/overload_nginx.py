"""Issue #4's overload targets in the scale-out shape: nginx sheds at the door.

    .venv-runtime/bin/python bench/overload_nginx.py

bench/overload.py drives one API process at 3 x its capacity, and the process refuses what is
beyond its in-flight cap itself: each refusal still costs the worker parsing, routing and a
response, so the refusals take the CPU the admitted requests need. Here the same load goes
through nginx running deploy/nginx.conf, whose `limit_conn` refuses beyond the cap with the
API's own 503 `overloaded` before the request reaches a worker.

On a throwaway database seeded as bench/overload.py seeds it (100 users x 100 posts), this
machine's Redis, one API instance with one worker behind Debian's nginx (tests/scaleout/cluster.py):

1. Capacity C: wrk `-c64`, `GET /v1/posts/{id}` (bench/scenarios.lua `get_post`), through nginx
   with its cap lifted (none shed), 2xx/s, after a 5 s warm-up; the worker starts with every
   seeded post in memory (LP_CACHE_WARMUP_POSTS).
2. Overload: nginx's cap set to `--cap` (32: one worker's LP_MAX_IN_FLIGHT, its share), then
   bench/openloop.py sends 3 x C requests/s over 1,000 kept-alive connections for `--duration`
   s, with a `GET /health/live` probe every 100 ms. Judged by bench/overload.py's targets.

--pin: the API worker and nginx on CPU 0, this process (the generator) and wrk on CPU 1, for C
and the overload alike: as a load generator on another machine would leave the service's cores
to it. Unpinned, at 3 x C the generator takes about two thirds of a core from them
(docs/benchmarks.md).

Writes bench/results/<UTC time>-overload-nginx.json. Loopback only, bounded in time.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import loadgen
import openloop
import overload
import seed
import servers
from run import add_settings_option, log, metadata_of_run, run_and_save, settings_of

from scaleout import Target, cluster_settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.scaleout.cluster as cluster_module  # noqa: E402  (the repository root, added above)
from tests.scaleout.cluster import Cluster  # noqa: E402

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CAP = re.compile(r"limit_conn api_in_flight \d+;")
# nginx's largest count: "no cap" while C is measured.
NO_CAP = 60000


def with_cap(workdir: Path, cap: int) -> Path:
    """deploy/nginx.conf with its in-flight cap set to `cap`."""
    text, found = CAP.subn(
        f"limit_conn api_in_flight {cap};", (ROOT / "deploy/nginx.conf").read_text()
    )
    assert found == 1, "deploy/nginx.conf has no `limit_conn api_in_flight N;`"
    path = workdir / f"nginx-cap-{cap}.conf"
    path.write_text(text)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL, help="(default: %(default)s)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--cap", type=int, default=32)
    parser.add_argument("--overload-factor", type=float, default=3.0)
    parser.add_argument("--overload-connections", type=int, default=1000)
    parser.add_argument("--pin", action="store_true", help="service on CPU 0, generator on CPU 1")
    add_settings_option(parser, "a setting of the API instance, e.g. LP_CACHE_ENABLED=false")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--label", default="overload-nginx")
    args = parser.parse_args(argv)
    args.settings = settings_of(parser, args)
    args.worker_counts, args.scenario_list, args.warmup = [1], ["get_post"], 5.0
    args.users, args.posts_per_user, args.connections, args.threads = 100, 100, 64, 2
    return args


def pin(service_pids: list[int]) -> None:
    """The service's processes, all their threads, on CPU 0; this process on CPU 1 (the wrk it
    starts after inherits it). nginx's reload starts its new workers from the pinned master."""
    for pid in service_pids:
        command = ["taskset", "--all-tasks", "--pid", "--cpu-list", "0", str(pid)]
        subprocess.run(command, check=True, capture_output=True)
    os.sched_setaffinity(0, {1})


def measure(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    overload.raise_open_files(args.overload_connections + 100)
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
        },
        "config": {
            "command": shlex.join([".venv-runtime/bin/python", "bench/overload_nginx.py", *argv]),
            "duration_s": args.duration,
            "cap": args.cap,
            "overload_factor": args.overload_factor,
            "overload_connections": args.overload_connections,
            "pinned": args.pin,
            "settings": args.settings,
        },
    }
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    cluster: Cluster | None = None
    with tempfile.TemporaryDirectory(prefix="lp-overload-nginx-") as tmp:
        workdir = Path(tmp)
        seed.create_database(args.database_url, name)
        try:
            seed.migrate(database_url, seed.clean_env())
            seeded = seed.seed(database_url, users=args.users, posts_per_user=args.posts_per_user)
            data = workdir / "data.lua"
            loadgen.write_data(data, seeded.users)
            # Every seeded post in memory from the start, as bench/overload.py's servers: C
            # measured while the cache still fills is no capacity (run 20261207T231326Z: C
            # 4,604/s at 5,000-6,400 Redis commands/s, then 12,154/s admitted once warm).
            settings = cluster_settings(
                database_url,
                LP_ACCESS_LOG="false",
                LP_CACHE_WARMUP_POSTS=str(seeded.posts),
                **args.settings,
            )
            cluster_module.NGINX_CONF = with_cap(workdir, NO_CAP)
            cluster = Cluster(
                workdir / "cluster", database_url, args.redis_url, instances=1, settings=settings
            )
            cluster.start_api(cluster.api[0])
            cluster.start_nginx()
            target = Target("nginx", cluster.nginx_port, cluster, 1, proxied=True)
            if args.pin:
                pin(target.tree_pids())
                log(started, f"pinned the service ({target.tree_pids()}) to CPU 0, us to CPU 1")
            load = {"connections": 64, "threads": 2}
            loadgen.run_wrk(target, "get_post", data, duration=args.warmup, **load)  # type: ignore[arg-type]
            capacity = loadgen.run_wrk(target, "get_post", data, duration=args.duration, **load)  # type: ignore[arg-type]
            capacity_per_s = overload.ok_per_s(capacity.as_dict())
            rate = capacity_per_s * args.overload_factor
            log(started, f"capacity {capacity_per_s:.0f} req/s; overload at {rate:.0f}/s")
            cluster_module.NGINX_CONF = with_cap(workdir, args.cap)
            cluster.reload_nginx()
            instance = cluster.api[0]
            assert instance.process is not None
            cpu_before = sum(servers.cpu_seconds(pid) for pid in target.tree_pids())
            wall = time.monotonic()
            result = openloop.run(
                servers.HOST,
                cluster.nginx_port,
                overload.request_lines(seeded.users, cluster.nginx_port),
                rate=rate,
                duration=args.duration,
                connections=args.overload_connections,
                probe=f"GET /health/live HTTP/1.1\r\nHost: {servers.HOST}\r\n\r\n".encode(),
            )
            wall = time.monotonic() - wall
            cpu = sum(servers.cpu_seconds(pid) for pid in target.tree_pids()) - cpu_before
            admitted = sum(
                s["count"] for code, s in result["statuses"].items() if code.startswith("2")
            )
            key = {"X-API-Key": seeded.users[0].api_key}
            read_after, _ = servers.request(
                cluster.nginx_port, "GET", f"/v1/posts/{seeded.users[0].post_ids[0]}", key
            )
            ready_after, _ = servers.request(cluster.nginx_port, "GET", "/health/ready")
            results["overload"] = {
                "capacity": capacity.as_dict() | {"raw_output": None},
                "capacity_per_s": capacity_per_s,
                "load": result,
                "admitted_per_s": round(admitted / args.duration, 1),
                "goodput_ratio": round(admitted / args.duration / capacity_per_s, 4),
                "server": {
                    "alive": instance.process.poll() is None,
                    "ready_status_after": ready_after,
                    "get_post_status_after": read_after,
                    "cpu_s_api_and_nginx": round(cpu, 2),
                    "wall_s": round(wall, 2),
                },
            }
        finally:
            if cluster is not None:
                cluster.close()
            seed.drop_database(args.database_url, name)
            log(started, f"dropped database {name}")
    results["meta"]["elapsed_s"] = time.monotonic() - started
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(measure, args, argv)
    if saved is None:
        return 130
    results, shown = saved
    over = results["overload"]
    print()
    print("| answers | count | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for code, s in over["load"]["statuses"].items():
        print(f"| {code} | {s['count']:,} | {s['p50_ms']} | {s['p99_ms']} | {s['max_ms']} |")
    print()
    print("| target | measured | met |")
    print("|---|---|:---:|")
    targets = overload.overload_targets(results)
    for label, measured, met in targets:
        print(f"| {label} | {measured} | {'yes' if met else '**no**'} |")
    print(f"\nraw results: {shown}")
    fivexx = [c for c in over["load"]["statuses"] if c.startswith("5") and c != "503"]
    return 1 if fivexx or not all(met for *_, met in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
