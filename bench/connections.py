"""What one cached read costs the server against the number of connections it comes over.

    .venv/bin/python bench/connections.py [--connections 64,250,500,1000] [--rounds 2]
        [--rate 100000] [--duration 6] [--http serve,PROTOCOL,...] [--app MODULE:APP]

bench/overload.py measures C over wrk's 64 connections and the overload over 1,000, and the
worker answers fewer reads a second over the 1,000 (docs/benchmarks.md). This measures why,
with one generator for every count, so that only the count changes: on a throwaway database
seeded as bench/overload.py seeds it, one server as its "on" server (serve's settings, every
post in memory) for each --http protocol (`serve`: serve's own; else as bench/overload.py's
--http, e.g. protocols:WrittenEach), each warmed up by wrk; then, in --rounds rounds over the
servers and the counts (alternately up and down, so that a drift of the shared machine hits all
alike), bench/openloop.py sends --rate requests/s, more than the worker answers, over that many
kept-alive connections for --duration s. Per answer:

- the worker's CPU, user and system, from /proc (µs);
- the generator's CPU, and how often it was switched out (waiting for the server's answers, or
  preempted), from /proc: what the server's way of writing costs the peer on this host;
- TCP segments sent on the machine (/proc/net/snmp, generator's and server's: 2 when each
  request and each answer carry the other side's acknowledgement, more when acknowledgements go
  in segments of their own), and the delayed-ACK timers that fired (/proc/net/netstat);
- answers/s, and their p50 and p99.

--app: a baseline app of bench/ instead (e.g. raw_hello:app), each server answering `GET /`:
what the server itself costs an answer the app makes, with nothing of the API's.

Writes bench/results/<UTC time>-connections.json. Loopback only, every step bounded in time;
the servers stopped and the database dropped however the run ends.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import loadgen
import openloop
import overload
import run
import seed
import servers

ROOT = Path(__file__).resolve().parent.parent
SERVE = "serve"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=run.DEFAULT_SERVER_URL)
    parser.add_argument("--connections", default="64,250,500,1000", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100_000, help="requests/s offered")
    parser.add_argument("--duration", type=float, default=6, help="seconds per measurement")
    parser.add_argument(
        "--http",
        default=SERVE,
        metavar="PROTOCOLS",
        help=f"comma-separated uvicorn --http protocols, one server each ({SERVE}: serve's own)",
    )
    parser.add_argument(
        "--app", metavar="MODULE:APP", help="a baseline app of bench/ answering GET / instead"
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--label", default="connections", help="suffix of the results file")
    args = parser.parse_args(argv)
    try:
        args.counts = [int(count) for count in args.connections.split(",")]
    except ValueError:
        parser.error("--connections: comma-separated whole numbers")
    args.protocols = args.http.split(",")
    if len(set(args.protocols)) != len(args.protocols) or "" in args.protocols:
        parser.error("--http: comma-separated protocols, each once")
    if min(args.counts) < 1 or args.rounds < 1 or args.rate <= 0 or args.duration < 1:
        parser.error("counts and --rounds at least 1, --rate positive, --duration at least 1 s")
    return args


def tcp_counters() -> dict[str, int]:
    """Tcp: and TcpExt: counters of the machine, as `Tcp:OutSegs`."""
    found: dict[str, int] = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = Path(path).read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=True):
            prefix, *fields = names.split()
            if prefix in ("Tcp:", "TcpExt:"):
                found.update(
                    zip((prefix + f for f in fields), map(int, values.split()[1:]), strict=True)
                )
    return found


def context_switches() -> int:
    """This process's, voluntary and not: the generator runs in its main thread."""
    status = Path("/proc/self/status").read_text().splitlines()
    return sum(int(line.split()[1]) for line in status if "ctxt_switches:" in line)


def measure_count(
    args: argparse.Namespace,
    protocol: str,
    server: servers.Server,
    requests: list[bytes],
    connections: int,
) -> dict[str, Any]:
    tcp, cpu = tcp_counters(), servers.user_system_seconds(server.pid)
    switches = context_switches()
    result = openloop.run(
        servers.HOST,
        server.port,
        requests,
        rate=args.rate,
        duration=args.duration,
        connections=connections,
    )
    tcp_after, cpu_after = tcp_counters(), servers.user_system_seconds(server.pid)
    switches = context_switches() - switches
    statuses = {code: s["count"] for code, s in result["statuses"].items()}
    ok = result["statuses"].get("200")
    if ok is None:
        raise RuntimeError(f"no read answered 200 over {connections} connections: {statuses}")
    answers = int(ok["count"])
    return {
        "http": protocol,
        "connections": connections,
        "answers_per_s": round(answers / args.duration, 1),
        "user_us": round((cpu_after[0] - cpu[0]) * 1e6 / answers, 1),
        "system_us": round((cpu_after[1] - cpu[1]) * 1e6 / answers, 1),
        "generator_us": round(result["generator_cpu_s"] * 1e6 / answers, 1),
        "generator_switches": round(switches / answers, 3),
        "segments": round((tcp_after["Tcp:OutSegs"] - tcp["Tcp:OutSegs"]) / answers, 3),
        "delayed_acks": round(
            (tcp_after["TcpExt:DelayedACKs"] - tcp["TcpExt:DelayedACKs"]) / answers, 3
        ),
        "p50_ms": ok["p50_ms"],
        "p99_ms": ok["p99_ms"],
        "statuses": statuses,
    }


def start(
    args: argparse.Namespace, protocol: str, env: dict[str, str], logdir: Path
) -> servers.Server:
    """The API as bench/overload.py's "on" server, or --app, under `protocol`."""
    http = None if protocol == SERVE else protocol
    if args.app is None:
        return overload.start_server(protocol, overload.APP, env, logdir, http)
    return servers.start_hello(
        workers=1, env=env, logdir=logdir, app=args.app, name=protocol, http=http
    )


def warm_up(
    args: argparse.Namespace, server: servers.Server, user: seed.SeededUser, data: Path
) -> None:
    load = {"duration": 3, "connections": overload.WRK_CONNECTIONS, "threads": 2}
    if args.app is None:
        servers.wait_ready(server, "/v1/users/me", {"X-API-Key": user.api_key})
        run.sanity_check(server, user)
        loadgen.run_wrk(server, "get_post", data, **load)
    else:
        servers.wait_ready(server, "/")
        loadgen.run_wrk(server, "hello", data, **load)


def request_lines(
    args: argparse.Namespace, users: list[seed.SeededUser], server: servers.Server
) -> list[bytes]:
    if args.app is None:
        return overload.request_lines(users, server.port)
    return [f"GET / HTTP/1.1\r\nHost: {servers.HOST}:{server.port}\r\n\r\n".encode()]


def measure(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": run.metadata_of_run(args),
        "config": {
            "command": " ".join([".venv/bin/python", "bench/connections.py", *argv]),
            "connections": args.counts,
            "rounds": args.rounds,
            "rate": args.rate,
            "duration_s": args.duration,
            "http": args.protocols,
            "app": args.app or overload.APP,
        },
    }
    with (
        tempfile.TemporaryDirectory(prefix="lp-connections-") as tmp,
        seed.seeded_database(args.database_url, users=100, posts_per_user=100) as database,
    ):
        database_url, seeded = database
        logdir = Path(tmp)
        data = logdir / "data.lua"
        loadgen.write_data(data, seeded.users)
        settings = {"LP_ACCESS_LOG": "false", "LP_CACHE_WARMUP_POSTS": str(seeded.posts)}
        env = run.server_env(database_url, settings)
        started_servers: dict[str, servers.Server] = {}
        try:
            for protocol in args.protocols:
                started_servers[protocol] = start(args, protocol, env, logdir)
            for server in started_servers.values():
                warm_up(args, server, seeded.users[0], data)
            runs = []
            for round_ in range(args.rounds):
                ahead = round_ % 2 == 0
                for protocol in args.protocols if ahead else args.protocols[::-1]:
                    server = started_servers[protocol]
                    requests = request_lines(args, seeded.users, server)
                    for count in args.counts if ahead else args.counts[::-1]:
                        measured = measure_count(args, protocol, server, requests, count)
                        runs.append(measured)
                        run.log(started, f"round {round_ + 1}: {row(measured)}")
            results["runs"] = runs
        finally:
            for server in started_servers.values():
                servers.stop(server)
    return results


def row(measured: dict[str, Any]) -> str:
    return (
        f"{measured['http']}, {measured['connections']} connections, "
        f"{measured['answers_per_s']:.0f} answers/s, "
        f"{measured['user_us'] + measured['system_us']:.1f} us of CPU each, "
        f"{measured['segments']:.2f} segments"
    )


def table(results: dict[str, Any]) -> str:
    """Medians over the rounds, by protocol and count."""
    lines = [
        "| --http | connections | answers/s | CPU µs per answer (user + system) "
        "| generator: CPU µs, switches per answer | TCP segments per answer "
        "| delayed-ACK timers per answer | p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for protocol in results["config"]["http"]:
        for count in results["config"]["connections"]:
            rs = [r for r in results["runs"] if r["connections"] == count and r["http"] == protocol]

            def median(key: str, rs: list[dict[str, Any]] = rs) -> float:
                return statistics.median(float(r[key]) for r in rs)

            cpu = median("user_us") + median("system_us")
            lines.append(
                f"| {protocol} | {count:,} | {median('answers_per_s'):,.0f} | {cpu:.1f} "
                f"({median('user_us'):.1f} + {median('system_us'):.1f}) "
                f"| {median('generator_us'):.1f}, {median('generator_switches'):.3f} "
                f"| {median('segments'):.2f} | {median('delayed_acks'):.3f} "
                f"| {median('p50_ms'):.1f} / {median('p99_ms'):.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    overload.ensure_wrk()
    overload.raise_open_files(max(args.counts) + 1024)
    saved = run.run_and_save(measure, args, argv)
    if saved is None:
        return 130
    results, shown = saved
    print()
    print(table(results))
    print(f"\nraw results: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
