"""The proxy hop and the scale-out shape: cached reads through nginx, and a rolling restart.

    .venv-runtime/bin/python bench/scaleout.py
    .venv-runtime/bin/python bench/scaleout.py --duration 10 --rounds 3

On a throwaway, seeded PostgreSQL database and this machine's Redis, with deploy/nginx.conf run
by Debian's nginx (tests/scaleout/cluster.py starts everything, as `make scaleout-test` does):

- `direct`: one API instance with 2 workers, no proxy;
- `nginx 1x2`: the same instance behind nginx;
- `nginx 2x1`: two instances with 1 worker each behind nginx (the same total worker count).

Each is measured with wrk and bench/cache.lua's `cached` scenario (GET /v1/posts/{id} of a warm
hot set, each with its owner's key) in rounds, in the order direct, 1x2, 2x1, 2x1, 1x2, direct,
...; medians reported, with ratios to `direct` from the same run. Then, through nginx to the two
instances, the same load for three windows: while nothing happens, while both instances are
restarted in turn (taken out of nginx by a reload, stopped with SIGTERM, started, put back by
another reload), and while nginx only reloads as many times: p99 and failed requests of
each. Writes bench/results/<UTC time>-scaleout.json. Loopback only; every step is bounded in
time; everything is stopped and the database dropped however the run ends.
"""

import argparse
import shlex
import statistics
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
from run import log, metadata_of_run, run_and_save, server_env

import cache

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scaleout.cluster import Cluster  # noqa: E402  (the repository root, added above)

SCRIPT = Path(__file__).resolve().parent / "cache.lua"
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class Target:
    """What loadgen.run_wrk measures: a port, and the processes whose CPU counts."""

    def __init__(self, name: str, port: int, cluster: Cluster, workers: int, proxied: bool):
        self.name, self.port, self.workers = name, port, workers
        self.cluster, self.proxied = cluster, proxied

    def tree_pids(self) -> list[int]:
        roots = [i.process.pid for i in self.cluster.api if i.process]
        if self.proxied and self.cluster.nginx:
            roots.append(self.cluster.nginx.pid)
        return [pid for root in roots for pid in (root, *servers.children(root))]


def cluster_settings(database_url: str, **settings: str) -> dict[str, str]:
    """run.py's settings of a measured API (limits out of reach, still counted), minus what
    the cluster sets itself."""
    own = ("LP_DATABASE_URL", "LP_ENV", "LP_SECRET_KEY")
    env = server_env(database_url, settings)
    return {k: v for k, v in env.items() if k.startswith("LP_") and k not in own}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL, help="(default: %(default)s)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="(default: %(default)s)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--restart-window", type=float, default=20.0, help="seconds")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--posts-per-user", type=int, default=20)
    parser.add_argument("--hot-posts-per-user", type=int, default=5)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--label", default="scaleout", help="results file suffix")
    args = parser.parse_args(argv)
    args.worker_counts, args.scenario_list, args.warmup = [2], ["cached"], 3.0
    return args


def measure(args: argparse.Namespace, target: Target, data: Path, seconds: float) -> dict[str, Any]:
    load = {"connections": args.connections, "threads": args.threads}
    m = loadgen.run_wrk(target, "cached", data, duration=seconds, script=SCRIPT, **load)  # type: ignore[arg-type]  # a Server in all run_wrk reads
    return m.as_dict() | {"raw_output": None}


def restart_window(
    args: argparse.Namespace, cluster: Cluster, target: Target, data: Path, action: str
) -> dict[str, Any]:
    """wrk for --restart-window seconds while nothing happens (`steady`), while both instances
    are restarted in turn (`restart`), or while nginx only reloads as often (`reloads`: what
    the restart costs that is nginx's reload, not the instances')."""
    done: dict[str, Any] = {}

    def act() -> None:
        time.sleep(2.0)
        began = time.monotonic()
        try:
            if action == "restart":
                cluster.rolling_restart()
            else:
                for _ in range(2 * len(cluster.api)):  # two reloads per restarted instance
                    cluster.reload_nginx()
                    time.sleep(1.0)
        except Exception as exc:  # reported, and the run goes on to stop everything
            done["error"] = repr(exc)
        done["action_s"] = round(time.monotonic() - began, 2)

    worker = threading.Thread(target=act) if action != "steady" else None
    if worker:
        worker.start()
    result = measure(args, target, data, args.restart_window)
    if worker:
        worker.join(timeout=120)
    return result | done


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "requests_per_s": statistics.median(r["requests_per_s"] for r in rows),
        "p50_ms": statistics.median(r["p50_ms"] for r in rows),
        "p99_ms": statistics.median(r["p99_ms"] for r in rows),
        "cpu_ms_per_request": statistics.median(
            1000 * r["cpu_s"]["server"] / max(1, r["requests"]) for r in rows
        ),
        "errors": sum(r["errors"] for r in rows),
        "server_errors_5xx": sum(r["server_errors_5xx"] for r in rows),
    }


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    loadgen.wrk_path()
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
        },
        "config": {
            "command": shlex.join([".venv-runtime/bin/python", "bench/scaleout.py", *argv]),
            **{k: v for k, v in vars(args).items() if k not in ("results_dir",)},
        },
    }
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    clusters: list[Cluster] = []
    with tempfile.TemporaryDirectory(prefix="lp-bench-scaleout-") as tmp:
        tmpdir = Path(tmp)
        seed.create_database(args.database_url, name)
        try:
            seed.migrate(database_url, seed.clean_env())
            seeded = seed.seed(database_url, users=args.users, posts_per_user=args.posts_per_user)
            log(started, f"seeded {len(seeded.users)} users, {seeded.posts} posts")
            data = tmpdir / "data.lua"
            cache.write_data(data, seeded.users, args.hot_posts_per_user, 1.1)
            # run.py's limits (out of reach, still counted); the cluster sets the rest.
            settings = cluster_settings(database_url)
            for instances, workers in ((1, 2), (2, 1)):
                cluster = Cluster(
                    tmpdir / f"{instances}x{workers}",
                    database_url,
                    args.redis_url,
                    instances=instances,
                    workers_per_instance=workers,
                    settings=settings,
                )
                clusters.append(cluster)
                for instance in cluster.api:
                    cluster.start_api(instance)
                cluster.start_nginx()
            one, two = clusters
            targets = {
                "direct": Target("direct", one.api[0].port, one, 2, proxied=False),
                "nginx_1x2": Target("nginx_1x2", one.nginx_port, one, 2, proxied=True),
                "nginx_2x1": Target("nginx_2x1", two.nginx_port, two, 2, proxied=True),
            }
            log(started, "servers ready; warming up")
            for target in targets.values():
                measure(args, target, data, 3.0)
            order = list(targets)
            rows: dict[str, list[dict[str, Any]]] = {key: [] for key in targets}
            for n in range(args.rounds):
                for key in order if n % 2 == 0 else reversed(order):
                    rows[key].append(measure(args, targets[key], data, args.duration))
                    log(started, f"round {n + 1} {key}: {rows[key][-1]['requests_per_s']} req/s")
            results["cached"] = {"runs": rows, "summary": {k: summary(v) for k, v in rows.items()}}
            windows = results["rolling_restart"] = {}
            for action in ("steady", "restart", "reloads"):
                window = restart_window(args, two, targets["nginx_2x1"], data, action)
                windows[action] = window
                log(started, f"{action} window: p99 {window['p99_ms']} ms")
        finally:
            for cluster in clusters:
                cluster.close()
            seed.drop_database(args.database_url, name)
            log(started, f"dropped database {name}")
    results["meta"]["elapsed_s"] = time.monotonic() - started
    return results


def table(results: dict[str, Any]) -> str:
    summaries = results["cached"]["summary"]
    base = summaries["direct"]["requests_per_s"]
    lines = [
        "| cached GET /v1/posts/{id} | req/s (median) | vs direct | p50 ms | p99 ms "
        "| CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, s in summaries.items():
        lines.append(
            f"| {key} | {s['requests_per_s']:,.0f} | {s['requests_per_s'] / base:.1%} | "
            f"{s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['cpu_ms_per_request']:.3f} "
            f"| {s['errors']} |"
        )
    lines += [
        "",
        "| through nginx, 2x1 | req/s | p99 ms | max ms | failed | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, r in results["rolling_restart"].items():
        lines.append(
            f"| {key} | {r['requests_per_s']:,.0f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | "
            f"{r['errors']} | {r['statuses']} {r['socket_errors'] or ''} {r.get('error', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(run, args, argv)
    if saved is None:
        return 130
    results, shown = saved
    print()
    print(table(results))
    print(f"\nraw results: {shown}")
    fivexx = sum(s["server_errors_5xx"] for s in results["cached"]["summary"].values())
    fivexx += sum(r["server_errors_5xx"] for r in results["rolling_restart"].values())
    if fivexx:
        print(f"BUG: {fivexx} 5xx responses")
    return 1 if fivexx else 0


if __name__ == "__main__":
    sys.exit(main())
