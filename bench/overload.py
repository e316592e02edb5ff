"""Overload, and the cost of the protection stack, on GET /v1/posts/{id} (issue #4 [protection]).

    .venv/bin/python bench/overload.py [--duration 10] [--rounds 12] [--slice 2] [--max-in-flight N]
        [--only cost|overload|refusals] [--capacity C] [--against FACTORY | --control]
        [--http httptools] [--set LP_NAME=VALUE ...]

On a throwaway seeded PostgreSQL database, two servers of 1 worker each under the same uvicorn
settings as `linkedin-posts serve`: "on", the default app (`create_app`, the rate limiter's read
class set out of reach by run.server_env: counted, never refused; --http
httptools: plain uvicorn, so that only the app's own cap refuses), and "off", bench/apps.py's app
without the protection stack (--against: another factory in its place), each started with every
seeded post in memory (LP_CACHE_WARMUP_POSTS). Then:

1. cost: wrk -t2 on each, with 64 connections or the on server's cap if lower (so that none
   is shed), alternately (on, off, off, on, ...) in --rounds rounds of one --slice-second run
   each, after a warm-up of each; the cost is the median of the rounds' on/off ratios: the
   shared machine's speed drifts by more than the cost over tens of seconds, less within a
   round (--control: both servers the default app, to see the method's own bias);
2. capacity C: wrk -t2 -c64 right before the overload (2xx/s), on a third server, the default
   app with LP_MAX_IN_FLIGHT=64, so that C (and so the offered rate) does not depend on the cap
   under test and no connection of wrk's is shed; --capacity: a given C instead (the same
   offered rate for every run of a sweep);
3. overload: bench/openloop.py sends an open-loop 3 x C requests/s over 1000 kept-alive
   connections to "on"; then the process must still be alive and /health/ready answer 200;
   then the same requests at the same rate to the floor: bench/raw_hello.py, a raw ASGI
   hello-world under the same server, its own C measured first as the API's: the latency and
   goodput of a server that does nothing else;
4. what a refusal costs: wrk on a server whose one slot (LP_MAX_IN_FLIGHT=1) is held, so that
   it refuses every request, then on the hello-world.

--only cost runs part 1 alone; --only overload parts 2 and 3 (each server warmed up first);
--only refusals part 4.

Prints markdown tables and writes bench/results/<UTC time>-protection.json. Loopback only; every
step is bounded in time; servers stopped and the database dropped however the run ends.
"""

import argparse
import os
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import loadgen
import openloop
import run
import seed
import servers

from linkedin_posts.config import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = "linkedin_posts.main:create_app"  # what `linkedin-posts serve` runs
OFF_APP = "apps:unprotected"
PARTS = ("cost", "overload", "refusals")
WRK_CONNECTIONS = 64
DEFAULT_MAX_IN_FLIGHT: int = Settings.model_fields["max_in_flight"].default

TARGET_GOODPUT = 0.90
TARGET_ADMITTED_P99_MS = 50.0
TARGET_REJECT_P99_MS = 50.0
TARGET_COST = 0.10


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=run.DEFAULT_SERVER_URL)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds per server")
    parser.add_argument("--rounds", type=int, default=12, help="cost: measurements per server")
    parser.add_argument("--slice", type=int, default=2, help="cost: seconds per measurement")
    parser.add_argument("--overload-factor", type=float, default=3.0, help="x capacity")
    parser.add_argument("--overload-connections", type=int, default=1000)
    parser.add_argument(
        "--max-in-flight", type=int, help="LP_MAX_IN_FLIGHT of the on server (default: the app's)"
    )
    parser.add_argument(
        "--capacity",
        type=float,
        metavar="C",
        help="overload: C in 2xx/s instead of measuring it (offered rate: factor x C)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="cost: the off server is the default app too (the method's own bias)",
    )
    parser.add_argument(
        "--against",
        default=OFF_APP,
        metavar="FACTORY",
        help=f"cost: the off server's app factory, module:function (default: {OFF_APP})",
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="run one part: cost (1), overload (capacity and overload, 2-3) or refusals (4)",
    )
    parser.add_argument(
        "--http",
        metavar="PROTOCOL",
        help="the on server's uvicorn --http: httptools sheds with the app's own count only "
        "(default: what `linkedin-posts serve` runs, which refuses in the server)",
    )
    run.add_settings_option(
        parser, "an extra setting for the on and capacity servers, e.g. LP_CACHE_ENABLED=false"
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--label", default="protection", help="suffix of the results file")
    args = parser.parse_args(argv)
    args.settings = run.settings_of(parser, args)
    if args.duration < 1 or args.slice < 1 or args.rounds < 2 or args.overload_connections < 1:
        parser.error(
            "--duration and --slice must be at least 1, --rounds at least 2, connections at least 1"
        )
    if args.capacity is not None and args.capacity <= 0:
        parser.error("--capacity must be positive")
    if args.control:
        if args.against != OFF_APP:
            parser.error("--control and --against exclude each other")
        args.against = APP
    return args


def ensure_wrk() -> None:
    """Install wrk from Debian if missing, as the Makefile's `bench` target does."""
    if shutil.which("wrk"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], env=env, check=True, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, check=True, timeout=300)


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def start_server(
    name: str, factory: str, env: dict[str, str], logdir: Path, http: str | None = None
) -> servers.Server:
    """One worker under uvicorn with `linkedin-posts serve`'s settings (servers.UVICORN_FLAGS),
    or another HTTP protocol (`http`)."""
    port = servers.free_port()
    flags = list(servers.UVICORN_FLAGS)
    if http is not None:
        flags[flags.index("--http") + 1] = http
    command = [str(servers.BIN / "uvicorn"), factory, "--factory", "--app-dir"]
    command += [str(servers.BENCH_DIR), "--host", servers.HOST, "--port", str(port)]
    command += ["--workers", "1", *flags]
    return servers.start(name, command, workers=1, port=port, env=env, logdir=logdir)


def shed_total(port: int) -> float | None:
    """The server's own count of requests refused as overloaded, from /metrics."""
    try:
        _, body = servers.request(port, "GET", "/metrics")
    except OSError:
        return None
    for line in body.decode().splitlines():
        if line.startswith("lp_http_requests_shed_total "):
            return float(line.split()[1])
    return None


def status_of(server: servers.Server, path: str, key: str | None = None) -> int | str:
    """The status of one GET, or what went wrong instead."""
    try:
        return servers.request(server.port, "GET", path, {"X-API-Key": key} if key else None)[0]
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def request_lines(users: list[seed.SeededUser], port: int) -> list[bytes]:
    """GET /v1/posts/{id} of every seeded post, each with its owner's key, as wrk sends it."""
    return [
        f"GET /v1/posts/{post} HTTP/1.1\r\nHost: {servers.HOST}:{port}\r\n"
        f"X-API-Key: {user.api_key}\r\n\r\n".encode()
        for user in users
        for post in user.post_ids
    ]


def cpu_ms_per_request(measured: dict[str, Any]) -> float:
    return round(float(measured["cpu_s"]["server"]) * 1000 / max(1, int(measured["requests"])), 3)


def closed_loop(args: argparse.Namespace) -> dict[str, Any]:
    """wrk's settings: 64 connections, or the in-flight cap if lower, so that none is shed."""
    connections = min(WRK_CONNECTIONS, args.max_in_flight or DEFAULT_MAX_IN_FLIGHT)
    return {"duration": args.duration, "connections": connections, "threads": 2}


def ok_per_s(measured: dict[str, Any]) -> float:
    ok: int = sum(n for code, n in measured["statuses"].items() if code.startswith("2"))
    seconds: float = measured["duration_s"]
    return round(ok / seconds, 1)


def cost(
    args: argparse.Namespace, on: servers.Server, off: servers.Server, data: Path, started: float
) -> dict[str, Any]:
    load = {**closed_loop(args), "duration": args.slice}
    for server in (on, off):
        loadgen.run_wrk(server, "get_post", data, **{**load, "duration": args.warmup})
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    for round_ in range(args.rounds):
        # on, off, off, on, ...: a drift of the shared machine hits both alike.
        for server in (on, off) if round_ % 2 == 0 else (off, on):
            m = loadgen.run_wrk(server, "get_post", data, **load)
            runs[server.name].append(m.as_dict())
            run.log(
                started,
                f"cost round {round_ + 1} {server.name:3} {m.requests_per_s:7.0f} req/s "
                f"p99 {m.p99_ms:6.1f} ms errors {m.errors}",
            )
    median = {
        name: {
            "requests_per_s": statistics.median(ok_per_s(r) for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "server_cpu_ms_per_request": statistics.median(cpu_ms_per_request(r) for r in rs),
            "errors": sum(r["errors"] for r in rs),
        }
        for name, rs in runs.items()
    }
    ratios = [ok_per_s(a) / ok_per_s(b) for a, b in zip(runs["on"], runs["off"], strict=True)]
    return {
        "runs": runs,
        "median": median,
        "round_ratios": [round(r, 4) for r in ratios],
        "on_over_off": round(statistics.median(ratios), 4),
    }


def overload(
    args: argparse.Namespace,
    on: servers.Server,
    capacity_server: servers.Server | None,
    users: list[seed.SeededUser],
    data: Path,
    logdir: Path,
    started: float,
) -> dict[str, Any]:
    """C on `capacity_server` (the on server unless a cap is under test; None: --capacity),
    then 3 x C on "on", then the same load on the floor (`floor`)."""
    capacity: dict[str, Any] | None = None
    if capacity_server is None:
        capacity_per_s = float(args.capacity)
    else:
        load = {"duration": args.duration, "connections": WRK_CONNECTIONS, "threads": 2}
        capacity = loadgen.run_wrk(capacity_server, "get_post", data, **load).as_dict()
        capacity_per_s = ok_per_s(capacity)  # answers with 2xx only
        if capacity_server is not on:
            servers.stop(capacity_server)
    rate = capacity_per_s * args.overload_factor
    source = "given" if capacity_server is None else capacity_server.name
    run.log(started, f"capacity {capacity_per_s:.0f} req/s ({source}); overload at {rate:.0f}/s")
    shed_before = shed_total(on.port)
    probe = f"GET /health/live HTTP/1.1\r\nHost: {servers.HOST}:{on.port}\r\n\r\n".encode()
    cpu_before = sum(servers.cpu_seconds(pid) for pid in on.tree_pids())
    machine_before, wall = servers.machine_cpu(), time.monotonic()
    result = openloop.run(
        servers.HOST,
        on.port,
        request_lines(users, on.port),
        rate=rate,
        duration=args.duration,
        connections=args.overload_connections,
        probe=probe,
    )
    wall = time.monotonic() - wall
    server_cpu = sum(servers.cpu_seconds(pid) for pid in on.tree_pids()) - cpu_before
    machine_after = servers.machine_cpu()
    busy = machine_after[0] - machine_before[0]
    machine_busy = busy / max(1.0, machine_after[1] - machine_before[1])
    alive = on.process.poll() is None
    ready_status = status_of(on, "/health/ready")
    shed_after = shed_total(on.port)
    after_status = status_of(on, f"/v1/posts/{users[0].post_ids[0]}", users[0].api_key)
    floor_ = floor(args, request_lines(users, on.port), rate, data, logdir)
    run.log(started, f"floor: p99 {floor_['load']['statuses'].get('200', {}).get('p99_ms')} ms")
    statuses = result["statuses"]
    admitted = sum(s["count"] for code, s in statuses.items() if code.startswith("2"))
    return {
        "capacity_server": source,
        "capacity": capacity,
        "capacity_per_s": capacity_per_s,
        "load": result,
        "admitted_per_s": round(admitted / args.duration, 1),
        "goodput_ratio": round(admitted / args.duration / capacity_per_s, 4),
        "mean_wait_ms_by_littles_law": mean_wait_ms(args, result),
        "floor": floor_,
        "server": {
            "alive": alive,
            "ready_status_after": ready_status,
            "get_post_status_after": after_status,
            "shed_counter_delta": None
            if shed_before is None or shed_after is None
            else shed_after - shed_before,
            "cpu_s": round(server_cpu, 2),
            "wall_s": round(wall, 2),
            "cpu_share_of_one_core": round(server_cpu / wall, 3),
            "machine_busy": round(machine_busy, 3),
            "rss_kib": servers.status_kib(on.pid, "VmRSS"),
            "log_problems": on.log_problems()[:50],
        },
    }


def floor(
    args: argparse.Namespace, requests: list[bytes], rate: float, data: Path, logdir: Path
) -> dict[str, Any]:
    """The overload for a server that does nothing: bench/raw_hello.py, the raw ASGI hello-world
    under serve's loop and protocol, its own C measured as the API's, then sent the same
    requests at the same rate over as many connections. The admitted p99 and goodput of "on"
    are read against it (docs/benchmarks.md)."""
    hello = servers.start_hello(
        workers=1, env=seed.clean_env(), logdir=logdir, app="raw_hello:app", name="floor"
    )
    try:
        servers.wait_ready(hello, "/")
        load = {"duration": args.duration, "connections": WRK_CONNECTIONS, "threads": 2}
        capacity_per_s = ok_per_s(loadgen.run_wrk(hello, "hello", data, **load).as_dict())
        result = openloop.run(
            servers.HOST,
            hello.port,
            requests,
            rate=rate,
            duration=args.duration,
            connections=args.overload_connections,
        )
    finally:
        servers.stop(hello)
    answered_per_s = result["answered"] / args.duration
    return {
        "app": "raw_hello:app",
        "capacity_per_s": capacity_per_s,
        "load": result,
        "answered_per_s": round(answered_per_s, 1),
        "goodput_ratio": round(answered_per_s / capacity_per_s, 4),
        "mean_wait_ms_by_littles_law": mean_wait_ms(args, result),
    }


def mean_wait_ms(args: argparse.Namespace, result: dict[str, Any]) -> float:
    """Little's law: each connection holds one request at a time, and at 3 x C they are all
    busy, so a server that answers them all waits connections / answers-per-s on average, in
    whatever order it answers."""
    answered_per_s = max(result["answered"] / args.duration, 1.0)
    return round(args.overload_connections / answered_per_s * 1000, 1)


def refusals(
    args: argparse.Namespace,
    database_url: str,
    user: seed.SeededUser,
    data: Path,
    logdir: Path,
) -> dict[str, Any]:
    """What a 503 costs the worker, beside what a hello-world request costs uvicorn.

    A server whose one slot (LP_MAX_IN_FLIGHT=1) is held by a POST whose body never arrives
    refuses every other request; wrk measures it like the others, then the hello-world.
    """
    settings = {"LP_ACCESS_LOG": "false"}  # and run.server_env's limits, out of reach
    settings["LP_MAX_IN_FLIGHT"] = "1"
    settings["LP_REQUEST_TIMEOUT_SECONDS"] = "3600"  # the held POST must not time out
    full = start_server("full", APP, run.server_env(database_url, settings), logdir)
    hello = servers.start_hello(workers=1, env=seed.clean_env(), logdir=logdir)
    load = {"duration": args.duration, "connections": 64, "threads": 2}
    try:
        servers.wait_ready(full, "/v1/users/me", {"X-API-Key": user.api_key})
        servers.wait_ready(hello, "/")
        with socket.create_connection((servers.HOST, full.port), timeout=5) as held:
            held.sendall(
                f"POST /v1/posts HTTP/1.1\r\nHost: {servers.HOST}:{full.port}\r\n"
                f"X-API-Key: {user.api_key}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n{".encode()
            )
            deadline = time.monotonic() + 10
            while status_of(full, f"/v1/posts/{user.post_ids[0]}", user.api_key) != 503:
                if time.monotonic() > deadline:
                    raise RuntimeError("the held POST did not take the server's one slot")
            refused = loadgen.run_wrk(full, "get_post", data, **load)
        baseline = loadgen.run_wrk(hello, "hello", data, **load)
    finally:
        servers.stop(full)
        servers.stop(hello)
    return {"refused": refused.as_dict(), "hello": baseline.as_dict()}


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The targets of the parts that ran."""
    return [*overload_targets(results), *cost_targets(results)]


def cost_targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    if "cost" not in results:
        return []
    cost_ = results["cost"]
    cost_pct = 1 - cost_["on_over_off"]
    return [
        (
            f"protection costs ≤ {TARGET_COST:.0%} of req/s",
            f"{cost_pct:.1%} (the median of {len(cost_['runs']['on'])} rounds' on/off; on "
            f"{cost_['median']['on']['requests_per_s']:.0f} vs off "
            f"{cost_['median']['off']['requests_per_s']:.0f} req/s, medians)",
            cost_pct <= TARGET_COST,
        ),
    ]


def overload_targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    if "overload" not in results:
        return []
    over = results["overload"]
    server, load = over["server"], over["load"]
    statuses = load["statuses"]
    admitted = [s for code, s in statuses.items() if code.startswith("2")]
    rejects = {code: s for code, s in statuses.items() if code in ("503", "429")}
    other = {code: s["count"] for code, s in statuses.items() if code not in rejects}
    other = {code: n for code, n in other.items() if not code.startswith("2")}
    refused = ", ".join(f"{code}: {s['count']}" for code, s in rejects.items()) or "none"
    admitted_p99 = max((s["p99_ms"] for s in admitted), default=0.0)
    reject_p99 = max((s["p99_ms"] for s in rejects.values()), default=0.0)
    reject_max = max((s["max_ms"] for s in rejects.values()), default=0.0)
    # bench/overload_nginx.py judges its runs by these targets, and has no floor.
    floor_ = over["floor"]["load"]["statuses"].get("200", {}) if "floor" in over else None
    floor_goodput = over["floor"].get("goodput_ratio") if "floor" in over else None
    errors = load["socket_errors"]
    capacity = over["capacity_per_s"]
    n = load["connections"]
    return [
        (
            "the process never crashes",
            f"alive: {server['alive']}, /health/ready {server['ready_status_after']}, "
            f"a read after {server['get_post_status_after']}",
            bool(server["alive"]) and server["ready_status_after"] == 200,
        ),
        (
            f"admitted goodput ≥ {TARGET_GOODPUT:.0%} of capacity",
            f"{over['goodput_ratio']:.0%} ({over['admitted_per_s']:.0f} vs {capacity:.0f} req/s)"
            + (
                ""
                if floor_goodput is None
                else f" (floor, the raw ASGI hello-world under the same load: {floor_goodput:.0%}"
                f" of its C, {over['floor']['capacity_per_s']:.0f} req/s)"
            ),
            over["goodput_ratio"] >= TARGET_GOODPUT,
        ),
        (
            f"p99 of admitted requests < {TARGET_ADMITTED_P99_MS:.0f} ms",
            f"{admitted_p99:.1f} ms"
            + (
                ""
                if floor_ is None
                else " (floor, the raw ASGI hello-world under the same load: "
                f"{floor_.get('p99_ms', 0.0):.1f} ms)"
            ),
            bool(admitted) and admitted_p99 < TARGET_ADMITTED_P99_MS,
        ),
        (
            "rejects are fast 503/429, not timeouts (p99 < 50 ms, no other error status)",
            f"{refused}; "
            f"p99 {reject_p99:.1f} ms, max {reject_max:.0f} ms; timeouts {errors['timeout']}; "
            f"other non-2xx {other or 0}",
            reject_p99 < TARGET_REJECT_P99_MS and errors["timeout"] == 0 and not other,
        ),
        (
            f"{n} concurrent connections held, 0 socket errors",
            f"{load['connections_held_at_start']} opened, {load['connections_held_at_end']} "
            f"still open at the end; errors {sum(errors.values())} ({errors})",
            load["connections_held_at_end"] == n and sum(errors.values()) == 0,
        ),
    ]


def tables(results: dict[str, Any]) -> str:
    lines = [*cost_table(results), *overload_tables(results), "", "| target | measured | met |"]
    lines.append("|---|---|:---:|")
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(results)]
    return "\n".join(lines)


def cost_table(results: dict[str, Any]) -> list[str]:
    if "cost" not in results:
        return []
    cost_ = results["cost"]
    lines = [
        f"on: {APP}; off: {results['config']['against']}",
        "",
        "| protection | req/s (each run) | median req/s | median p99 ms "
        "| median server CPU ms/req | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name in ("on", "off"):
        rs, m = cost_["runs"][name], cost_["median"][name]
        each = " / ".join(f"{ok_per_s(r):.0f}" for r in rs)
        lines.append(
            f"| {name} | {each} | {m['requests_per_s']:.0f} | {m['p99_ms']:.1f} "
            f"| {m['server_cpu_ms_per_request']:.3f} | {m['errors']} |"
        )
    ratios = sorted(cost_.get("round_ratios", ()))  # absent from results before 2026-12-07
    if ratios:
        lines += ["", "on/off in each round, sorted: " + ", ".join(f"{r:.3f}" for r in ratios)]
    return lines


def overload_tables(results: dict[str, Any]) -> list[str]:
    if "overload" not in results:
        return []
    over = results["overload"]
    load = over["load"]
    measured = over["capacity"]
    how = f"wrk -c{measured['connections']}, {over['capacity_server']}" if measured else "given"
    lines = [
        "",
        f"Capacity C ({how}): {over['capacity_per_s']:.0f} req/s answered 2xx"
        + (f", p99 {measured['p99_ms']:.1f} ms" if measured else "")
        + f". Overload: {load['offered_rate']:.0f} req/s "
        f"offered over {load['connections']} connections for {load['duration_s']:g} s "
        f"({load['sent']} sent, {load['not_sent']} not sent for want of an idle connection); "
        f"generator send lag p99 {load['send_lag']['p99_ms']:.1f} ms, "
        f"CPU {load['generator_cpu_s']} s. Every connection busy, the mean wait is "
        f"{load['connections']} connections ÷ {load['answered'] / load['duration_s']:.0f} "
        f"answers/s = {over['mean_wait_ms_by_littles_law']} ms (Little's law).",
        "",
        "| status | count | per s | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for code, s in load["statuses"].items():
        lines.append(
            f"| {code} | {s['count']} | {s['count'] / load['duration_s']:.0f} | {s['p50_ms']} "
            f"| {s['p90_ms']} | {s['p99_ms']} | {s['max_ms']} |"
        )
    for code, s in load["statuses_after_1s"].items():
        lines.append(
            f"| {code}, due after the first second | {s['count']} | | {s['p50_ms']} "
            f"| {s['p90_ms']} | {s['p99_ms']} | {s['max_ms']} |"
        )
    floor_ = over["floor"]
    for code, s in floor_["load"]["statuses"].items():
        lines.append(
            f"| floor: raw ASGI hello-world, {code} | {s['count']} "
            f"| {s['count'] / load['duration_s']:.0f} | {s['p50_ms']} | {s['p90_ms']} "
            f"| {s['p99_ms']} | {s['max_ms']} |"
        )
    for code, s in load["probe"]["statuses"].items():
        lines.append(
            f"| probe `GET /health/live`, {code} | {s['count']} | | {s['p50_ms']} "
            f"| {s['p90_ms']} | {s['p99_ms']} | {s['max_ms']} |"
        )
    lines += [
        "",
        "Per second of the overload (by when each request was due):",
        "",
        "| second | 2xx | 503 | 429 | 2xx max ms | 503 max ms | probe max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, probe in zip(load["timeline"], load["probe"]["timeline"], strict=True):
        ok = sum(n for k, n in row.items() if k.isdigit() and k.startswith("2"))
        ok_max = max(
            (v for k, v in row.items() if k.startswith("2") and k.endswith("ms")), default=0
        )
        lines.append(
            f"| {row['second']} | {ok} | {row.get('503', 0)} | {row.get('429', 0)} | {ok_max} "
            f"| {row.get('503_max_ms', 0)} | {probe.get('200_max_ms', '-')} |"
        )
    server = over["server"]
    lines += [
        "",
        f"Server: CPU {server['cpu_s']} s in {server['wall_s']} s (connections, load and "
        f"the last answers; machine busy {server['machine_busy']:.0%}); shed counter "
        f"+{server['shed_counter_delta']:.0f}; RSS {server['rss_kib']} KiB after.",
    ]
    if "refusals" not in results:
        return lines
    refused, hello = results["refusals"]["refused"], results["refusals"]["hello"]
    lines += [
        "",
        "What each answer costs the worker (wrk -c64, server CPU ÷ requests):",
        "",
        "| answer | req/s | server CPU ms/req | statuses |",
        "|---|---:|---:|---|",
    ]
    answers = [
        ("`GET /v1/posts/{id}` admitted (capacity run)", measured),
        ("`GET /v1/posts/{id}` refused, 503 (one slot held)", refused),
        ("hello-world `GET /` (uvicorn's own floor)", hello),
    ]
    for label, m in [(label, m) for label, m in answers if m]:
        lines.append(
            f"| {label} | {m['requests_per_s']:.0f} | {cpu_ms_per_request(m):.3f} "
            f"| {m['statuses']} |"
        )
    return lines


def measure(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **run.metadata_of_run(args),
        },
        "config": {
            "command": shlex.join([".venv/bin/python", "bench/overload.py", *argv]),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "overload_factor": args.overload_factor,
            "overload_connections": args.overload_connections,
            "max_in_flight": args.max_in_flight or DEFAULT_MAX_IN_FLIGHT,
            "settings": args.settings,
            "http": args.http or "serve's",
            "capacity": args.capacity or "measured",
            "control": args.control,
            "against": args.against,
            "parts": [args.only] if args.only else list(PARTS),
        },
    }
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    with tempfile.TemporaryDirectory(prefix="lp-overload-") as tmp:
        logdir = Path(tmp)
        seed.create_database(args.database_url, name)
        try:
            seed.migrate(database_url, seed.clean_env())
            seeded = seed.seed(database_url, users=100, posts_per_user=100)
            data = logdir / "data.lua"
            loadgen.write_data(data, seeded.users)
            run.log(started, f"database {name} seeded")
            # Every server starts with every seeded post in memory, as bench/run.py's do: a
            # warm-up of a few seconds leaves thousands cold on a slow machine, and C measured
            # on misses is no capacity (run 20261207T133924Z: C 4,160/s at 0.24 ms a read).
            settings = {  # and run.server_env's limits, out of reach
                "LP_ACCESS_LOG": "false",
                "LP_CACHE_WARMUP_POSTS": str(seeded.posts),
            }
            # Explicitly: run.server_env lifts the cap out of reach for the other benches.
            on_cap = args.max_in_flight or DEFAULT_MAX_IN_FLIGHT
            on_settings = {**settings, **args.settings, "LP_MAX_IN_FLIGHT": str(on_cap)}
            default_env = run.server_env(database_url, settings)
            on_env = run.server_env(database_url, on_settings)
            on = start_server("on", APP, on_env, logdir, args.http)
            started_servers = [on]
            if args.only in (None, "cost"):
                off = start_server("off", args.against, default_env, logdir)
                started_servers.append(off)
            capacity_server: servers.Server | None = None
            if not args.capacity and args.only in (None, "overload"):
                # C with wrk's 64 connections and a cap that sheds none of them: what the
                # worker serves, whatever cap the overload then runs with.
                capacity_env = {
                    **default_env,
                    **args.settings,
                    "LP_MAX_IN_FLIGHT": str(WRK_CONNECTIONS),
                }
                capacity_server = start_server("capacity", APP, capacity_env, logdir)
                started_servers.append(capacity_server)
            try:
                probe = {"X-API-Key": seeded.users[0].api_key}
                for server in started_servers:
                    servers.wait_ready(server, "/v1/users/me", probe)
                    run.sanity_check(server, seeded.users[0])
                if args.only in (None, "cost"):
                    results["cost"] = cost(args, on, off, data, started)
                    servers.stop(off)
                if args.only in (None, "overload"):
                    warm_up = {**closed_loop(args), "duration": args.warmup}
                    if args.only == "overload":  # the cost part has not warmed it up
                        loadgen.run_wrk(on, "get_post", data, **warm_up)
                    if capacity_server is not None and capacity_server is not on:
                        warm_up["connections"] = WRK_CONNECTIONS
                        loadgen.run_wrk(capacity_server, "get_post", data, **warm_up)
                    results["overload"] = overload(
                        args, on, capacity_server, seeded.users, data, logdir, started
                    )
                servers.stop(on)
                if args.only in (None, "refusals"):
                    results["refusals"] = refusals(
                        args, database_url, seeded.users[0], data, logdir
                    )
            except Exception:
                for server in started_servers:
                    print(f"--- {server.name} log (tail) ---\n{server.log_tail()}", file=sys.stderr)
                raise
            finally:
                for server in started_servers:
                    servers.stop(server)
        finally:
            seed.drop_database(args.database_url, name)
            run.log(started, f"dropped database {name}")
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    results["targets"] = [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results)]
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ensure_wrk()
    raise_open_files(args.overload_connections + 1024)
    saved = run.run_and_save(measure, args, argv)
    if saved is None:
        return 130
    results, shown = saved
    print()
    print(tables(results))
    print(f"\nraw results: {shown}")
    return 0 if all(t["met"] for t in results["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
