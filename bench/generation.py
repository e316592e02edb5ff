"""POST /v1/generate over HTTP: a slow provider behind the cap, the template provider, cache hits.

    .venv/bin/python bench/generation.py
    .venv/bin/python bench/generation.py --duration 5 --rounds 1 --no-docs
    .venv/bin/python bench/generation.py --phases provider --profile --profile-dir /tmp/spy
    .venv/bin/python bench/generation.py --help

On a throwaway PostgreSQL database (an administrator and its API key, and --many-users members
with one key each), with Redis (rate-limit counters and the content cache's L2; without it
`serve --workers N` turns the cache off), `LP_ANALYSIS_PRELOAD=true`, the `ai` rate limit out of
reach, no daily token quota (`LP_AI_DAILY_TOKENS_PER_USER=0`) and the in-flight cap above the
connections, all measured with wrk and bench/generation.lua at --connections (64). Each
measurement of phases 1 and 3 runs twice: every request the administrator's ("one user"), then
every request a random member's ("many users"). Usage was once written per request to one
row per user and day, and one user's concurrent requests queued for that row's lock; it is now
counted in memory and written once a second, and the two figures show whether it matters.

1. provider: `tests/generation/fake_openai.py` as a process, answering every chat completion after
   --delay (0.3 s), each answer a different text (`--vary`; --same-text for one text), and the API
   with `LP_AI_PROVIDER=openai` pointed at it on --workers (2) workers with
   `LP_AI_MAX_CONCURRENCY` --max-concurrency (16). Every request one variant at temperature 0.7,
   no seed, no cache: one provider call each, and each answer's analysis computed. Measured
   against the ideal the cap allows, min(connections, workers x cap) / delay requests/s; also
   how many connections each worker held (the kernel spreads them, and a worker holding fewer
   than the cap cannot fill its slots).
2. template: `LP_AI_PROVIDER=template` on ONE worker, --template-variants (3) variants per
   request at temperature 0.7, no seed (a fresh random seed each time), no cache: variants/s.
   One user.
3. cached: `POST /v1/generate` at temperature 0, one body (a topic of this run), answered from
   the content cache after the first request (checked: the first answer says "cached": false,
   and every later one, counted by the wrk script, "cached": true), beside the FastAPI
   hello-world (bench/hello.py, GET / with the same API key header), same worker count and
   connections, measured in turn --rounds times.

For the API it also records, from /metrics once the requests wrk left in flight are answered,
the provider calls and analyses per answer; each worker's CPU; the run database's sessions
(active, waiting on a lock) once a second; and with --profile a py-spy profile of one worker.

Prints markdown tables, writes the raw results to bench/results/<UTC time>-generation.json and
the summary into docs/benchmarks.md between its own markers. Loopback only; every step is
bounded in time; servers are stopped and the database dropped however the run ends. The cache
entries the run leaves in Redis (analyses of generated texts, the cached generation) carry a
TTL of --l2-ttl seconds (`LP_CACHE_L2_TTL_SECONDS`) and expire by themselves; the cached topic
names the run and the fake's texts a random series, so no run finds another's.
"""

import argparse
import asyncio
import contextlib
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import loadgen
import orjson
import redis
import report
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
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "generation.lua"
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BEGIN = (
    "<!-- bench:generation:begin (written by bench/generation.py; edit outside these markers) -->"
)
END = "<!-- bench:generation:end -->"
SECTION = """## Generation: `POST /v1/generate`

Measured by `bench/generation.py` (see its docstring): a provider that answers after 300 ms behind
the per-process cap on provider calls, the template provider's variants per second on one worker,
and answers from the content cache beside a hello-world.
"""

PHASES = ("provider", "template", "cached")
TARGET_SHARE_OF_IDEAL = 0.85
TEMPERATURE = 0.7
FAKE_PROBE = b'{"model": "m", "messages": [{"role": "user", "content": "ping"}]}'
BRIEF: dict[str, Any] = {
    "topic": "Why our code reviews stalled, and the three changes that fixed them",
    "key_points": [
        "Reviews within four working hours, shared by the whole team",
        "One test environment per pull request",
    ],
    "audience": "engineering managers",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL, help="(default: %(default)s)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="(default: %(default)s)")
    parser.add_argument(
        "--workers", type=int, default=2, help="API workers for provider and cached (default: 2)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--duration", type=float, default=12, help="measured seconds, provider and template"
    )
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds before each")
    parser.add_argument("--delay", type=float, default=0.3, help="the fake provider's seconds")
    parser.add_argument(
        "--max-concurrency", type=int, default=16, help="LP_AI_MAX_CONCURRENCY (default: 16)"
    )
    parser.add_argument(
        "--same-text",
        action="store_true",
        help="the fake answers one text every time (default: a different one each time)",
    )
    parser.add_argument("--template-variants", type=int, default=3, help="variants per request")
    parser.add_argument(
        "--template-connections",
        type=int,
        default=16,
        help="template: wrk connections; one CPU-bound worker is saturated by far fewer than "
        "64, whose queue only adds latency up to wrk's 5 s timeout (default: 16)",
    )
    parser.add_argument(
        "--many-users",
        type=int,
        default=1000,
        help="members seeded for the many-users measurements; 0: one user only (default: 1000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="cached: rounds (default: 3)")
    parser.add_argument(
        "--round-duration", type=float, default=7, help="cached: seconds of each server a round"
    )
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"a comma-separated subset of {','.join(PHASES)}"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy one worker during each phase's first measurement; top frames in the JSON",
    )
    parser.add_argument(
        "--profile-dir", type=Path, help="with --profile, also keep py-spy's collapsed stacks here"
    )
    parser.add_argument(
        "--l2-ttl", type=int, default=600, help="LP_CACHE_L2_TTL_SECONDS of the servers"
    )
    parser.add_argument("--label", default="generation", help="suffix of the results file")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not update --docs")
    add_settings_option(parser, "an extra setting for the API servers (repeatable)")
    args = parser.parse_args(argv)
    args.phase_list = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not args.phase_list or set(args.phase_list) - set(PHASES):
        parser.error(f"--phases takes a comma-separated subset of {','.join(PHASES)}")
    if min(args.duration, args.round_duration) < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration and --round-duration >= 1, --warmup >= 0, --rounds >= 1")
    if min(args.connections, args.template_connections) < args.threads:
        parser.error("--connections and --template-connections must be >= --threads")
    if min(args.connections, args.threads, args.workers, args.max_concurrency) < 1:
        parser.error("--connections, --threads, --workers and --max-concurrency must be >= 1")
    if args.connections < args.threads or not 0 < args.delay <= 10:
        parser.error("--connections >= --threads, and 0 < --delay <= 10")
    if args.many_users < 0 or args.many_users == 1:
        parser.error("--many-users: 0 (one user only) or at least 2")
    if not 1 <= args.template_variants <= 5:
        parser.error("--template-variants: 1 to 5")
    args.settings = settings_of(parser, args)
    return args


# -- servers, requests, /metrics, what the processes do ----------------------------------------


@dataclass(frozen=True)
class Senders:
    """Who sends a measurement's requests: a label and the API keys, a random one each."""

    label: str
    keys: list[str]


@dataclass(frozen=True)
class Context:
    """What every phase needs: the options, the database, who sends the requests."""

    args: argparse.Namespace
    database_url: str
    database: seed.BenchDatabase
    admin_key: str
    senders: list[Senders]  # one user first; many users second, unless --many-users 0
    tmpdir: Path
    started: float


def api_env(args: argparse.Namespace, database_url: str, **settings: str) -> dict[str, str]:
    # run.py's: production, a random secret, read and write limits out of reach; here also the
    # `ai` class (the limiter still counts each request, in Redis), no daily token quota, and the
    # in-flight cap above every connection reaching one worker: the provider cap is measured.
    return server_env(
        database_url,
        {
            "LP_REDIS_URL": args.redis_url,
            "LP_RATELIMIT_AI": "100000000/minute",
            "LP_AI_DAILY_TOKENS_PER_USER": "0",
            "LP_MAX_IN_FLIGHT": str(max_in_flight(args)),
            "LP_ANALYSIS_PRELOAD": "true",
            "LP_CACHE_L2_TTL_SECONDS": str(args.l2_ttl),
            **settings,
            **args.settings,
        },
    )


def max_in_flight(args: argparse.Namespace) -> int:
    return max(1000, 2 * int(args.connections))


def start_api(ctx: Context, name: str, workers: int, **settings: str) -> servers.Server:
    env = api_env(ctx.args, ctx.database_url, **settings)
    api = servers.start_api(workers=workers, env=env, logdir=ctx.tmpdir, name=name)
    try:
        servers.wait_ready(api, "/v1/users/me", {"X-API-Key": ctx.admin_key})
    except BaseException:
        servers.stop(api)
        raise
    time.sleep(1)  # let start-up settle (subscriptions, first collections)
    return api


def start_fake(args: argparse.Namespace, logdir: Path) -> servers.Server:
    """tests/generation/fake_openai.py as a process; ready once it answers a completion."""
    port = servers.free_port()
    command = [sys.executable, "-m", "tests.generation.fake_openai", "--host", servers.HOST]
    command += ["--port", str(port), "--delay", str(args.delay)]
    if not args.same_text:
        command.append("--vary")
    env = {**seed.clean_env(), "PYTHONPATH": str(ROOT)}
    fake = servers.start("fake_openai", command, workers=1, port=port, env=env, logdir=logdir)
    headers = {"Content-Type": "application/json"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if fake.process.poll() is not None:
            raise RuntimeError(f"the fake provider exited:\n{fake.log_tail()}")
        with contextlib.suppress(OSError):
            status, _ = servers.request(port, "POST", "/v1/chat/completions", headers, FAKE_PROBE)
            if status == 200:
                return fake
        time.sleep(0.2)
    servers.stop(fake)
    raise RuntimeError(f"the fake provider did not answer in 30 s:\n{fake.log_tail()}")


def generate_once(server: servers.Server, api_key: str, body: bytes) -> dict[str, Any]:
    """One POST /v1/generate on a new connection; its answer, which must be a 200."""
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    status, answer = servers.request(server.port, "POST", "/v1/generate", headers, body)
    if status != 200:
        raise RuntimeError(f"{server.name}: POST /v1/generate answered {status}: {answer[:300]!r}")
    found: dict[str, Any] = orjson.loads(answer)
    return found


def write_data(path: Path, keys: Sequence[str], body: bytes) -> None:
    """The file generation.lua reads: the API keys, comma-separated, then the body."""
    assert b"\n" not in body
    assert b"\r" not in body
    path.write_bytes(",".join(keys).encode() + b"\n" + body + b"\n")
    path.chmod(0o600)  # API keys, if throwaway ones


METRICS = (
    "lp_llm_requests_total",
    "lp_llm_request_duration_seconds_sum",
    "lp_llm_request_duration_seconds_count",
    "lp_analysis_duration_seconds_count",
    "lp_analysis_duration_seconds_sum",
    "lp_http_requests_total",
    "lp_http_requests_in_flight",
)


def metrics(server: servers.Server) -> dict[str, float]:
    """The /metrics figures this benchmark reads, by name and labels, summed over workers."""
    status, body = servers.request(server.port, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}: {body[:200]!r}")
    found: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith(METRICS):
            key = name.replace('"', "")
            found[key] = found.get(key, 0.0) + float(value)
    return found


def counted(delta: dict[str, float], prefix: str, *labels: str) -> float:
    return sum(
        v for k, v in delta.items() if k.startswith(prefix) and all(la in k for la in labels)
    )


def drain(server: servers.Server, timeout: float = 15) -> tuple[float, dict[str, float]]:
    """Wait (bounded) until the server works on no request but the /metrics one, so the
    counters include the requests wrk left in flight; the seconds waited and the counters."""
    started = time.monotonic()
    while True:
        found = metrics(server)
        if counted(found, "lp_http_requests_in_flight") <= 1:
            break
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.2)
    return time.monotonic() - started, found


def connections_per_worker(server: servers.Server) -> list[int]:
    """Established connections to the server's port each worker holds (from /proc), sorted."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == server.port:
                    inodes.add(inode)
    counts = []
    for pid in server.worker_pids():
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        held += 1
        counts.append(held)
    return sorted(counts, reverse=True)


PG_ACTIVITY = """
SELECT count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE wait_event_type = 'Lock'),
       count(*)
FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
"""


class Sampler:
    """Every `every` seconds while a measurement runs, in a thread of its own: the connections
    each worker holds, and the run database's sessions (active, waiting on a lock, all)."""

    def __init__(
        self, server: servers.Server, database: seed.BenchDatabase | None, every: float = 1.0
    ) -> None:
        self.server = server
        self.database = database
        self.every = every
        self.connections: list[list[int]] = []
        self.sessions: list[list[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _run(self) -> None:
        conn, name = None, ""
        if self.database is not None:
            name = self.database.name
            url = make_url(self.database.server_url).set(drivername="postgresql")
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                conn = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
        try:
            while not self._stop.is_set():
                await asyncio.sleep(self.every)
                if self._stop.is_set():
                    break
                self.connections.append(connections_per_worker(self.server))
                if conn is not None:
                    with contextlib.suppress(asyncpg.PostgresError, OSError, TimeoutError):
                        row = await conn.fetchrow(PG_ACTIVITY, name, timeout=2)
                        if row is not None:
                            self.sessions.append([int(v) for v in row])
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)


def profile_worker(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy on one worker in the background (collapsed stacks of the thread holding the GIL:
    where its Python CPU time goes), if py-spy is there."""
    spy = servers.BIN / "py-spy"
    if not spy.exists():
        return None
    command = [str(spy), "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", "100", "--gil", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_summary(path: Path, top: int = 25) -> dict[str, Any]:
    """Shares of the samples by innermost frame (self) and by any frame on the stack."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                anywhere[frame] += n
    return {
        "samples": total,
        "self": [[f, round(n / total, 4)] for f, n in own.most_common(top)] if total else [],
        "inclusive": [[f, round(n / total, 4)] for f, n in anywhere.most_common(top)]
        if total
        else [],
    }


def measure(
    ctx: Context,
    server: servers.Server,
    scenario: str,
    data_path: Path,
    *,
    duration: float,
    profile: str | None = None,
    fake: servers.Server | None = None,
    connections: int | None = None,
) -> dict[str, Any]:
    """One wrk run; for the API also the /metrics delta (after the requests wrk left in flight
    are answered), each worker's CPU time, its connections and the database's sessions."""
    args = ctx.args
    api = server.name != "hello"
    before = metrics(server) if api else {}
    workers = server.worker_pids()
    cpu_before = [servers.cpu_seconds(pid) for pid in workers]
    spies: list[subprocess.Popen[bytes] | None] = []
    timer = None
    spy_out = ctx.tmpdir / f"{profile}.spy" if profile else None
    if spy_out is not None:
        # From the third second on: the steady state, not wrk's connections opening.
        skip = 2 if duration > 4 else 0
        seconds = max(1, int(duration) - skip - 1)
        pid = workers[0]
        timer = threading.Timer(skip, lambda: spies.append(profile_worker(pid, seconds, spy_out)))
        timer.start()
    fake_cpu = servers.cpu_seconds(fake.pid) if fake is not None else 0.0
    with Sampler(server, ctx.database if api else None) as sampler:
        m = loadgen.run_wrk(
            server,
            scenario,
            data_path,
            duration=duration,
            connections=connections or args.connections,
            threads=args.threads,
            database=ctx.database if api else None,
            script=SCRIPT,
        )
    if fake is not None:
        fake_cpu = servers.cpu_seconds(fake.pid) - fake_cpu
    if timer is not None:
        timer.join(10)
    for spy in spies:
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
            if spy.poll() is None:
                spy.kill()
                spy.wait(5)
    result = m.as_dict()
    result.pop("raw_output", None)
    result["cpu_s"]["per_worker"] = [
        round(servers.cpu_seconds(pid) - t, 2) for pid, t in zip(workers, cpu_before, strict=True)
    ]
    if fake is not None:
        result["cpu_s"]["fake_provider"] = round(fake_cpu, 2)
    result["connections_per_worker"] = sampler.connections
    if api:
        waited, after = drain(server)
        result["drain_s"] = round(waited, 2)
        result["metrics"] = {
            k: round(after[k] - before.get(k, 0.0), 6)
            for k in after
            if not k.startswith("lp_http_requests_in_flight")
        }
        result["pg_sessions"] = sampler.sessions  # [active, waiting on a lock, all]
    if spy_out is not None:
        result["profile"] = profile_summary(spy_out)
        if args.profile_dir is not None and spy_out.exists():
            args.profile_dir.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            shutil.copy(spy_out, args.profile_dir / f"{stamp}-{profile}.txt")
    return result


# -- the phases ---------------------------------------------------------------------------------


def provider_phase(ctx: Context, body: bytes) -> dict[str, Any]:
    args = ctx.args
    fake = start_fake(args, ctx.tmpdir)
    api = None
    try:
        api = start_api(
            ctx,
            "api_openai",
            args.workers,
            LP_AI_PROVIDER="openai",
            LP_AI_BASE_URL=f"http://{servers.HOST}:{fake.port}/v1",
            LP_AI_MAX_CONCURRENCY=str(args.max_concurrency),
        )
        log(ctx.started, f"provider: fake provider (delay {args.delay:g} s) and API ready")
        probe = generate_once(api, ctx.admin_key, body)
        if probe["provider"] != "openai" or probe["cached"] or len(probe["variants"]) != 1:
            raise RuntimeError(f"provider: unexpected probe answer {str(probe)[:300]}")
        result: dict[str, Any] = {"probe_text": probe["variants"][0]["text"], "runs": []}
        for number, senders in enumerate(ctx.senders):
            data = ctx.tmpdir / f"provider-{number}.txt"
            write_data(data, senders.keys, body)
            run: dict[str, Any] = {"senders": senders.label, "users": len(senders.keys)}
            if args.warmup > 0:
                run["warmup"] = measure(ctx, api, "generate", data, duration=args.warmup)
            run["measured"] = measure(
                ctx,
                api,
                "generate",
                data,
                duration=args.duration,
                profile=f"provider-{number}" if args.profile else None,
                fake=fake,
            )
            result["runs"].append(run)
            s = provider_summary(run, args)
            m = run["measured"]
            log(
                ctx.started,
                f"provider, {senders.label}: {s['ok_per_s']:.1f} answers 200/s = "
                f"{s['share_of_ideal']:.1%} of the ideal {s['ideal_per_s']:.1f}; p50 "
                f"{s['p50_ms']:.0f} p99 {s['p99_ms']:.0f} ms; statuses {m['statuses']}, socket "
                f"errors {sum(m['socket_errors'].values())}; connections per worker "
                f"{s['connections_per_worker']}; sessions waiting on a lock "
                f"{_num(s['pg_lock_waits'])}",
            )
        result["log_problems"] = api.log_problems()[:50] + fake.log_problems()[:20]
        return result
    except Exception:
        for server in (api, fake):
            if server is not None:
                print(f"--- {server.name} log (tail) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if api is not None:
            servers.stop(api)
        servers.stop(fake)


def template_phase(ctx: Context, body: bytes) -> dict[str, Any]:
    args = ctx.args
    api = start_api(ctx, "api_template", 1, LP_AI_PROVIDER="template")
    try:
        probe = generate_once(api, ctx.admin_key, body)
        if probe["provider"] != "template" or probe["cached"]:
            raise RuntimeError(f"template: unexpected probe answer {str(probe)[:300]}")
        if len(probe["variants"]) != args.template_variants:
            raise RuntimeError(f"template: {len(probe['variants'])} variants in the probe")
        senders = ctx.senders[0]
        data = ctx.tmpdir / "template.txt"
        write_data(data, senders.keys, body)
        result: dict[str, Any] = {"senders": senders.label, "users": len(senders.keys)}
        load = {"connections": args.template_connections}
        if args.warmup > 0:
            result["warmup"] = measure(ctx, api, "generate", data, duration=args.warmup, **load)
        result["measured"] = measure(
            ctx,
            api,
            "generate",
            data,
            duration=args.duration,
            profile="template" if args.profile else None,
            **load,
        )
        result["log_problems"] = api.log_problems()[:50]
        s = template_summary(result, args)
        log(
            ctx.started,
            f"template: {s['variants_per_s']:.0f} variants/s ({s['ok_per_s']:.1f} answers 200/s "
            f"x {args.template_variants}); p50 {s['p50_ms']:.0f} p99 {s['p99_ms']:.0f} ms; "
            f"statuses {result['measured']['statuses']}",
        )
        return result
    except Exception:
        print(f"--- {api.name} log (tail) ---\n{api.log_tail()}", file=sys.stderr)
        raise
    finally:
        servers.stop(api)


def cached_phase(ctx: Context, body: bytes) -> dict[str, Any]:
    args = ctx.args
    api = start_api(ctx, "api_cached", args.workers, LP_AI_PROVIDER="template")
    hello = servers.start_hello(workers=args.workers, env=seed.clean_env(), logdir=ctx.tmpdir)
    try:
        servers.wait_ready(hello, "/")
        first = generate_once(api, ctx.admin_key, body)
        # New connections, another user: whichever worker takes them answers from the cache.
        again = [generate_once(api, ctx.senders[-1].keys[-1], body) for _ in range(4)]
        result: dict[str, Any] = {
            "first_cached": first["cached"],
            "again_cached": [a["cached"] for a in again],
            "same_text": all(a["variants"] == first["variants"] for a in again),
        }
        if first["cached"] or not all(result["again_cached"]) or not result["same_text"]:
            raise RuntimeError(f"cached: the probes do not show a cache at work: {result}")
        data = []
        for number, senders in enumerate(ctx.senders):
            data.append(ctx.tmpdir / f"cached-{number}.txt")
            write_data(data[-1], senders.keys, body)
        result["senders"] = [{"label": s.label, "users": len(s.keys)} for s in ctx.senders]
        if args.warmup > 0:
            result["hello_warmup"] = measure(ctx, hello, "hello", data[0], duration=args.warmup)
            result["warmup"] = [
                measure(ctx, api, "generate", path, duration=args.warmup) for path in data
            ]
        rounds = []
        for number in range(args.rounds):
            h = measure(ctx, hello, "hello", data[0], duration=args.round_duration)
            cached = []
            for index, path in enumerate(data):
                spy = f"cached-{index}" if args.profile and number == 0 else None
                cached.append(
                    measure(ctx, api, "generate", path, duration=args.round_duration, profile=spy)
                )
            rounds.append({"hello": h, "cached": cached})
            log(
                ctx.started,
                f"cached round {number + 1}: hello {h['requests_per_s']:.0f} req/s (p50 "
                f"{h['p50_ms']:.1f} p99 {h['p99_ms']:.1f} ms); "
                + "; ".join(
                    f"{s.label} {c['requests_per_s']:.0f} req/s (p50 {c['p50_ms']:.1f} p99 "
                    f"{c['p99_ms']:.1f} ms, cached true/false {c['extra'].get('cached_true')}/"
                    f"{c['extra'].get('cached_false')}, statuses {c['statuses']})"
                    for s, c in zip(ctx.senders, cached, strict=True)
                ),
            )
        result["rounds"] = rounds
        result["log_problems"] = api.log_problems()[:50] + hello.log_problems()[:20]
        return result
    except Exception:
        for server in (api, hello):
            print(f"--- {server.name} log (tail) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        servers.stop(api)
        servers.stop(hello)


# -- summaries, tables, targets -----------------------------------------------------------------


def _ok(m: dict[str, Any]) -> int:
    return int(m["statuses"].get("200", 0))


def _non_200(m: dict[str, Any]) -> int:
    """Answers that are not 200, and socket errors: each one is an error here."""
    answers: int = sum(n for code, n in m["statuses"].items() if code != "200")
    return answers + sum(int(n) for n in m["socket_errors"].values())


def _median_connections(samples: Sequence[Sequence[int]]) -> list[int]:
    """Per worker (most connections first), the median over the samples taken while all of
    wrk's connections were open (wrk closes them as it ends)."""
    full = [s for s in samples if s]
    if not full:
        return []
    most = max(sum(s) for s in full)
    full = [s for s in full if sum(s) == most] or full
    width = max(len(s) for s in full)
    return [round(statistics.median(s[i] if i < len(s) else 0 for s in full)) for i in range(width)]


def _answered(delta: dict[str, float]) -> int:
    """POST /v1/generate answered 200 by the server, those wrk left in flight included."""
    return round(counted(delta, "lp_http_requests_total", "route=/v1/generate,", "status=200"))


def _cpu(m: dict[str, Any], per: int) -> dict[str, Any]:
    """CPU per `per` (answers, variants) of the server, PostgreSQL and (if any) the fake
    provider, and the cores the rest of the machine (Redis, other tenants) kept busy."""
    cpu = m["cpu_s"]
    seconds = m["duration_s"] or 1.0
    ours = cpu["server"] + cpu["postgres"] + cpu["wrk"] + cpu.get("fake_provider", 0.0)
    return {
        "server_cpu_ms": cpu["server"] * 1000 / per if per else None,
        "server_cores": cpu["server"] / seconds,
        "worker_cores": [round(c / seconds, 2) for c in cpu.get("per_worker", [])],
        "postgres_cpu_ms": cpu["postgres"] * 1000 / per if per else None,
        "fake_cpu_ms": cpu.get("fake_provider", 0.0) * 1000 / per if per else None,
        "machine_busy": cpu["machine_busy"] / cpu["machine_capacity"]
        if cpu["machine_capacity"]
        else None,
        "others_cores": max(0.0, cpu["machine_busy"] - ours) / seconds,
    }


def _sessions(m: dict[str, Any]) -> dict[str, Any]:
    """The run database's sessions while measured, mean of the samples: active, waiting on a
    lock (another transaction's row), all."""
    samples = m.get("pg_sessions") or []
    if not samples:
        return {"pg_active": None, "pg_lock_waits": None, "pg_sessions": None}
    return {
        "pg_active": statistics.mean(s[0] for s in samples),
        "pg_lock_waits": statistics.mean(s[1] for s in samples),
        "pg_sessions": statistics.mean(s[2] for s in samples),
    }


def provider_summary(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    m = run["measured"]
    cap, delay = args.max_concurrency, args.delay
    ok = _ok(m)
    ok_per_s = ok / m["duration_s"] if m["duration_s"] else 0.0
    ideal = min(args.connections, args.workers * cap) / delay
    per_worker = _median_connections(m["connections_per_worker"])
    # What the cap allows given how the kernel spread the connections over the workers.
    spread_ideal = sum(min(c, cap) for c in per_worker) / delay if per_worker else None
    delta = m.get("metrics", {})
    answered = _answered(delta)
    calls = counted(delta, "lp_llm_requests_total")
    calls_ok = counted(delta, "lp_llm_requests_total", "outcome=ok")
    call_count = counted(delta, "lp_llm_request_duration_seconds_count")
    call_sum = counted(delta, "lp_llm_request_duration_seconds_sum")
    analyses = counted(delta, "lp_analysis_duration_seconds_count")
    analysis_sum = counted(delta, "lp_analysis_duration_seconds_sum")
    return {
        "senders": run["senders"],
        "users": run["users"],
        "ok_per_s": ok_per_s,
        "requests_per_s": m["requests_per_s"],
        "ideal_per_s": ideal,
        "target_per_s": TARGET_SHARE_OF_IDEAL * ideal,
        "share_of_ideal": ok_per_s / ideal if ideal else 0.0,
        "spread_ideal_per_s": spread_ideal,
        "share_of_spread_ideal": ok_per_s / spread_ideal if spread_ideal else None,
        "connections_per_worker": per_worker,
        "p50_ms": m["p50_ms"],
        "p90_ms": m["p90_ms"],
        "p99_ms": m["p99_ms"],
        "max_ms": m["max_ms"],
        "ok": ok,
        "errors": _non_200(m),
        "server_errors_5xx": m["server_errors_5xx"],
        "answered_by_server": answered,
        "provider_calls": round(calls),
        "provider_calls_failed": round(calls - calls_ok),
        "calls_per_answer": calls / answered if answered else None,
        "provider_call_ms": call_sum * 1000 / call_count if call_count else None,
        "analyses": round(analyses),
        "analyses_per_answer": analyses / answered if answered else None,
        "analysis_ms": analysis_sum * 1000 / analyses if analyses else None,
        **_cpu(m, ok),
        **_sessions(m),
    }


def template_summary(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    m = result["measured"]
    ok = _ok(m)
    variants = int(m["extra"].get("variants", 0))
    delta = m.get("metrics", {})
    analyses = counted(delta, "lp_analysis_duration_seconds_count")
    analysis_sum = counted(delta, "lp_analysis_duration_seconds_sum")
    answered = _answered(delta)
    return {
        "senders": result["senders"],
        "ok_per_s": ok / m["duration_s"] if m["duration_s"] else 0.0,
        "variants_per_s": variants / m["duration_s"] if m["duration_s"] else 0.0,
        "variants": variants,
        "variants_per_ok": variants / ok if ok else None,
        "p50_ms": m["p50_ms"],
        "p99_ms": m["p99_ms"],
        "max_ms": m["max_ms"],
        "ok": ok,
        "errors": _non_200(m),
        "server_errors_5xx": m["server_errors_5xx"],
        "cached_true": m["extra"].get("cached_true", 0),
        "answered_by_server": answered,
        "analyses": round(analyses),
        "analyses_per_variant": analyses / (answered * args.template_variants)
        if answered
        else None,
        "analysis_ms": analysis_sum * 1000 / analyses if analyses else None,
        **_cpu(m, variants),
        **_sessions(m),
    }


def _medians(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric field's median over `rows` (None where no row has a value)."""
    out: dict[str, Any] = {}
    for key, first in rows[0].items():
        if isinstance(first, list):
            continue
        values = [row[key] for row in rows if row.get(key) is not None]
        out[key] = statistics.median(values) if values else None
    return out


def _side(ms: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One server's (or sender group's) rounds, summarised."""
    return {
        "requests_per_s": statistics.median(m["requests_per_s"] for m in ms),
        "each_round": [m["requests_per_s"] for m in ms],
        "p50_ms": statistics.median(m["p50_ms"] for m in ms),
        "p99_ms": statistics.median(m["p99_ms"] for m in ms),
        "errors": sum(_non_200(m) for m in ms),
        "server_errors_5xx": sum(m["server_errors_5xx"] for m in ms),
        "statuses": dict(sum((Counter(m["statuses"]) for m in ms), Counter())),
        **_medians([{**_cpu(m, m["requests"]), **_sessions(m)} for m in ms]),
    }


def cached_summary(result: dict[str, Any]) -> dict[str, Any]:
    rounds = result["rounds"]
    groups = []
    for index, senders in enumerate(result["senders"]):
        ms = [r["cached"][index] for r in rounds]
        warm = result.get("warmup", [])
        side = _side(ms)
        side["senders"] = senders["label"]
        side["users"] = senders["users"]
        side["cached_true"] = sum(m["extra"].get("cached_true", 0) for m in ms)
        # The warm-up's answers too: after the probes, none may be computed again.
        side["cached_false"] = sum(
            m["extra"].get("cached_false", 0) for m in [*ms, *warm[index : index + 1]]
        )
        side["analyses"] = round(
            sum(counted(m.get("metrics", {}), "lp_analysis_duration_seconds_count") for m in ms)
        )
        side["ratio"] = statistics.median(
            r["cached"][index]["requests_per_s"] / r["hello"]["requests_per_s"]
            for r in rounds
            if r["hello"]["requests_per_s"]
        )
        groups.append(side)
    return {"hello": _side([r["hello"] for r in rounds]), "cached": groups}


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "?" if value is None else format(value, fmt)


def _statuses(statuses: dict[str, int], socket: int = 0) -> str:
    parts = [f"{code}: {n}" for code, n in sorted(statuses.items())]
    if socket:
        parts.append(f"socket errors: {socket}")
    return ", ".join(parts) or "none"


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _cores(s: dict[str, Any]) -> str:
    """The server's cores (per worker) and the rest of the machine's."""
    workers = " + ".join(f"{c:.2f}" for c in s["worker_cores"])
    return f"{s['server_cores']:.2f} ({workers}) | {s['others_cores']:.2f}"


def _pg(s: dict[str, Any]) -> str:
    if s["pg_sessions"] is None:
        return "?"
    return f"{s['pg_active']:.1f} / {s['pg_lock_waits']:.1f} / {s['pg_sessions']:.0f}"


def provider_table(results: dict[str, Any]) -> str:
    cfg = results["config"]
    rows = [
        "| senders | workers x cap | ideal req/s | answers 200/s | of ideal | p50 ms | p90 ms "
        "| p99 ms | max ms | statuses | connections per worker | ideal for that spread "
        "| provider calls ÷ answers | analyses ÷ answers | provider call ms (mean) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for s, run in zip(results["summary"]["provider"], results["provider"]["runs"], strict=True):
        m = run["measured"]
        rows.append(
            f"| {s['senders']} | {cfg['workers']} x {cfg['max_concurrency']} "
            f"| {s['ideal_per_s']:.1f} | {s['ok_per_s']:.1f} | {s['share_of_ideal']:.1%} "
            f"| {_ms(s['p50_ms'])} | {_ms(s['p90_ms'])} | {_ms(s['p99_ms'])} "
            f"| {_ms(s['max_ms'])} "
            f"| {_statuses(m['statuses'], sum(m['socket_errors'].values()))} "
            f"| {' / '.join(str(c) for c in s['connections_per_worker']) or '?'} "
            f"| {_num(s['spread_ideal_per_s'])} ({_pct(s['share_of_spread_ideal'])} of it) "
            f"| {_num(s['calls_per_answer'], '.2f')} | {_num(s['analyses_per_answer'], '.2f')} "
            f"| {_ms(s['provider_call_ms'])} |"
        )
    rows += [
        "",
        "| senders | server CPU ms/answer | server cores (per worker) | other processes' cores "
        "| PostgreSQL CPU ms/answer | fake provider CPU ms/answer | machine busy "
        "| PostgreSQL sessions: active / waiting on a lock / all (mean) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows.extend(
        f"| {s['senders']} | {_num(s['server_cpu_ms'], '.2f')} | {_cores(s)} "
        f"| {_num(s['postgres_cpu_ms'], '.2f')} | {_num(s['fake_cpu_ms'], '.2f')} "
        f"| {_pct(s['machine_busy'])} | {_pg(s)} |"
        for s in results["summary"]["provider"]
    )
    return "\n".join(rows)


def template_table(results: dict[str, Any]) -> str:
    cfg = results["config"]
    s = results["summary"]["template"]
    m = results["template"]["measured"]
    return "\n".join(
        [
            "| workers | variants/request | answers 200/s | variants/s | p50 ms | p99 ms | max ms "
            "| statuses | analyses ÷ variants | server CPU ms/variant | server cores "
            "| other processes' cores | machine busy | PostgreSQL sessions: active / waiting on "
            "a lock / all (mean) |",
            "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
            f"| 1 | {cfg['template_variants']} | {s['ok_per_s']:.1f} "
            f"| {s['variants_per_s']:.0f} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} "
            f"| {_ms(s['max_ms'])} | {_statuses(m['statuses'], sum(m['socket_errors'].values()))} "
            f"| {_num(s['analyses_per_variant'], '.2f')} "
            f"| {_num(s['server_cpu_ms'], '.2f')} | {_cores(s)} "
            f"| {_pct(s['machine_busy'])} | {_pg(s)} |",
        ]
    )


def cached_table(results: dict[str, Any]) -> str:
    s = results["summary"]["cached"]
    rows = [
        "| server | req/s (median) | each round | ÷ hello-world | p50 ms | p99 ms | statuses "
        '| answers `"cached": true` / `false` | server CPU ms/req | PostgreSQL CPU ms/req '
        "| PostgreSQL sessions: active / waiting on a lock / all (mean) |",
        "|---|---:|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    sides = [("FastAPI hello-world `GET /`", s["hello"], "100%", "-", "-")]
    sides.extend(
        (
            f"`POST /v1/generate` from the cache, {g['senders']}",
            g,
            f"{g['ratio']:.1%}",
            f"{g['cached_true']} / {g['cached_false']}",
            _pg(g),
        )
        for g in s["cached"]
    )
    for label, x, ratio, cached, pg in sides:
        rows.append(
            f"| {label} | {x['requests_per_s']:.0f} "
            f"| {' / '.join(f'{v:.0f}' for v in x['each_round'])} | {ratio} "
            f"| {_ms(x['p50_ms'])} | {_ms(x['p99_ms'])} | {_statuses(x['statuses'])} | {cached} "
            f"| {_num(x['server_cpu_ms'], '.2f')} | {_num(x['postgres_cpu_ms'], '.2f')} | {pg} |"
        )
    return "\n".join(rows)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    summary = results["summary"]
    checks = []
    for s in summary.get("provider", []):
        checks.append(
            (
                f"provider at {results['config']['delay']:g} s, {s['senders']}: answers/s ≥ "
                f"{TARGET_SHARE_OF_IDEAL:.0%} of the ideal ({s['target_per_s']:.1f})",
                s["share_of_ideal"] >= TARGET_SHARE_OF_IDEAL,
                f"{s['share_of_ideal']:.1%} ({s['ok_per_s']:.1f} of {s['ideal_per_s']:.1f})",
            )
        )
        checks.append(
            (f"provider, {s['senders']}: every answer 200", s["errors"] == 0, str(s["errors"]))
        )
    if "template" in summary:
        s = summary["template"]
        checks.append(("template: every answer 200", s["errors"] == 0, str(s["errors"])))
    for g in summary.get("cached", {}).get("cached", []):
        checks.append(
            (f"cached, {g['senders']}: every answer 200", g["errors"] == 0, str(g["errors"]))
        )
        checks.append(
            (
                f'cached, {g["senders"]}: every answer `"cached": true`',
                g["cached_false"] == 0 and g["cached_true"] > 0,
                f"{g['cached_false']} not cached",
            )
        )
    return [{"target": t, "met": ok, "measured": v} for t, ok, v in checks]


def targets_table(results: dict[str, Any]) -> str:
    rows = ["| target | measured | met |", "|---|---:|:---:|"]
    rows.extend(
        f"| {v['target']} | {v['measured']} | {'yes' if v['met'] else '**no**'} |"
        for v in targets(results)
    )
    return "\n".join(rows)


def block(results: dict[str, Any], results_file: str) -> str:
    meta, cfg, summary = results["meta"], results["config"], results["summary"]
    many = cfg["many_users"]
    senders = (
        "every request the administrator's (one user)"
        + (
            f", then, for phases 1 and 3, a random one of {many} members' (many users)"
            if many
            else ""
        )
        + ". The service counts each request's usage in memory and writes it once a second "
        "per worker (it once upserted the user's `ai_usage` row per request, so one user's "
        "concurrent requests queued on that row's lock)"
    )
    lines = [
        f"### Recorded run: {meta['started_utc']}",
        "",
        f"- Command: `{cfg['command']}`",
        f"- Raw results: [`{results_file}`](../{results_file})",
        f"- Load: `wrk --latency -t{cfg['threads']} -c{cfg['connections']}`, every request the "
        f"same body; senders: {senders}. {cfg['warmup_s']:g} s unrecorded before each "
        "measurement.",
        "- Servers: `linkedin-posts serve` with `LP_ENV=production`, Redis (`LP_REDIS_URL`: "
        "rate-limit counters, the cache's L2), `LP_ANALYSIS_PRELOAD=true`. Out of the way: the "
        "`ai` rate limit (`LP_RATELIMIT_AI=100000000/minute`, still counted), the daily token "
        "quota (`LP_AI_DAILY_TOKENS_PER_USER=0`), load shedding "
        f"(`LP_MAX_IN_FLIGHT={cfg['max_in_flight']}`, above the {cfg['connections']} "
        "connections a worker can hold).",
        "- Every answer that is not a 200 is an error (statuses columns). Provider calls and "
        "analyses per answer come from `/metrics` once the requests wrk left in flight are "
        "answered. \"Other processes' cores\": the machine's busy CPU time minus the server's, "
        "its PostgreSQL sessions', wrk's and the fake provider's, per second (Redis, and the "
        "machine's other tenants). PostgreSQL sessions: sampled once a second.",
        f"- Machine: {meta['machine']['cpus']} CPUs ({meta['machine']['cpu_model']}), "
        f"load average at start {meta['machine']['loadavg_at_start'][0]:.2f}; "
        f"PostgreSQL {meta['versions']['postgresql']}; Python {meta['versions']['python']}, "
        f"uvicorn {meta['versions']['uvicorn']}, FastAPI {meta['versions']['fastapi']}; "
        f"{meta['versions']['wrk']}.",
        f"- Code: commit `{meta['git']['commit'][:12]}`"
        + (" with uncommitted changes in src/" if meta["git"]["src_dirty"] else "")
        + f"; run took {meta['elapsed_s']:.0f} s.",
    ]
    if "provider" in summary:
        s = summary["provider"][0]
        texts = (
            "the same text every time (`--same-text`), so after the first each analysis comes "
            "from the cache"
            if cfg["same_text"]
            else "a different text each time (`--vary`: the post names its number), so every "
            "answer's analysis is computed, as with a real model"
        )
        lines += [
            "",
            f"**1. A provider answering after {cfg['delay'] * 1000:.0f} ms.** "
            "`tests/generation/fake_openai.py` as a process on loopback, answering "
            f"{texts}; the API on {cfg['workers']} workers with `LP_AI_PROVIDER=openai`, "
            f"`LP_AI_BASE_URL` the fake's, `LP_AI_MAX_CONCURRENCY={cfg['max_concurrency']}`; "
            f"each request one variant at temperature {cfg['temperature']}, no seed, no cache, "
            f"so each calls the provider once. {cfg['duration_s']:g} s measured. Ideal = "
            "min(connections, workers * `LP_AI_MAX_CONCURRENCY`) ÷ delay = "
            f"min({cfg['connections']}, {cfg['workers']} * {cfg['max_concurrency']}) ÷ "
            f"{cfg['delay']:g} s = **{s['ideal_per_s']:.1f} req/s**; the target, "
            f'{TARGET_SHARE_OF_IDEAL:.0%} of it, {s["target_per_s"]:.1f} req/s. "Ideal for '
            'that spread" sums min(connections held, cap) over the workers ÷ delay: the '
            "kernel hands wrk's connections to whichever worker accepts first, and a worker "
            "holding fewer connections than the cap cannot fill its slots.",
            "",
            provider_table(results),
        ]
    if "template" in summary:
        lines += [
            "",
            "**2. Template provider on one worker.** `LP_AI_PROVIDER=template`, "
            f"{cfg['template_variants']} variants per request at temperature "
            f"{cfg['temperature']}, no seed (a fresh random seed each request), no cache, one "
            f"user, `wrk -c{cfg['template_connections']}` (the worker is CPU-bound well below "
            f"{cfg['connections']} connections; more only lengthen its queue); variants/s = "
            f"variants in the answers 200 ÷ time. {cfg['duration_s']:g} s measured.",
            "",
            template_table(results),
        ]
    if "cached" in summary:
        lines += [
            "",
            "**3. Answers from the cache beside a hello-world.** `POST /v1/generate` at "
            "temperature 0, one variant, one body (its topic names the run), template provider, "
            f"on {cfg['workers']} workers; the first request computed it "
            '(`"cached": false`), four more on new connections came from the cache, and the '
            "wrk script counts the flag in every answer. The FastAPI hello-world "
            "(`bench/hello.py`, `GET /` with the same `X-API-Key` header) on as many workers, "
            f"same connections; each round measures each row for {cfg['round_duration_s']:g} s, "
            f"{cfg['rounds']} rounds; medians, and each ratio is the median of the rounds' own "
            "ratios.",
            "",
            cached_table(results),
        ]
    lines += ["", targets_table(results)]
    notes = observations(results)
    if notes:
        lines += ["", "What this run's figures say (written by the script from them):", ""]
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


def observations(results: dict[str, Any]) -> list[str]:
    """Sentences drawn from the figures: lock waits, CPU, the spread of connections."""
    cfg, summary = results["config"], results["summary"]
    cpus = results["meta"]["machine"]["cpus"]
    notes = []
    runs = summary.get("provider", [])
    if runs:
        one = runs[0]
        waits = f"{_num(one['pg_lock_waits'])} PostgreSQL sessions waited on a lock on average"
        if len(runs) > 1:
            many = runs[1]
            notes.append(
                f"Provider, one user against {many['senders']}: {one['ok_per_s']:.1f} against "
                f"{many['ok_per_s']:.1f} answers/s, p99 {_ms(one['p99_ms'])} against "
                f"{_ms(many['p99_ms'])} ms; with one user {waits} (with many, "
                f"{_num(many['pg_lock_waits'])})."
            )
        for s in runs:
            need = s["ideal_per_s"] * (s["server_cpu_ms"] or 0) / 1000
            notes.append(
                f"Provider, {s['senders']}: {_num(s['server_cpu_ms'])} ms of server CPU per "
                f"answer, so the ideal {s['ideal_per_s']:.1f} answers/s needs {need:.2f} cores "
                f"for the API alone, on a machine of {cpus} that also runs wrk, PostgreSQL, Redis "
                f"and the fake provider; the workers used {_cores(s).split(' |')[0]} cores and "
                f"the machine was {_pct(s['machine_busy'])} busy, "
                f"{s['others_cores']:.2f} cores of it other processes'."
                + (
                    f" The kernel gave the workers "
                    f"{' / '.join(str(c) for c in s['connections_per_worker'])} of the "
                    f"{cfg['connections']} connections, which caps what the slots can do at "
                    f"{_num(s['spread_ideal_per_s'])} answers/s."
                    if s["spread_ideal_per_s"] is not None
                    and s["spread_ideal_per_s"] < s["ideal_per_s"]
                    else ""
                )
            )
    if "template" in summary:
        s = summary["template"]
        notes.append(
            f"Template: {_num(s['server_cpu_ms'])} ms of server CPU per variant (the analysis "
            f"of each text included: {_num(s['analyses_per_variant'], '.2f')} analyses per "
            f"variant), one worker at {s['server_cores']:.2f} cores: the worker is CPU-bound, "
            "and the latency is mostly the queue of "
            f"{cfg['template_connections']} connections in front of it."
        )
    if "cached" in summary:
        hello = summary["cached"]["hello"]
        for g in summary["cached"]["cached"]:
            notes.append(
                f"From the cache, {g['senders']}: {_num(g['server_cpu_ms'], '.2f')} ms of server "
                f"CPU and {_num(g['postgres_cpu_ms'], '.2f')} ms of PostgreSQL CPU per answer, "
                f"against {_num(hello['server_cpu_ms'], '.2f')} ms for the hello-world; "
                f"{_num(g['pg_lock_waits'])} sessions waiting on a lock on average. A cache hit "
                "still authenticates, counts the rate limit in Redis, looks the generation and "
                "its analysis up, and counts the request in the worker's usage tally."
            )
    return notes


def update_docs(path: Path, body: str) -> None:
    text = path.read_text() if path.exists() else report.TEMPLATE
    if BEGIN not in text or END not in text:
        path.write_text(text.rstrip() + "\n\n" + SECTION + "\n" + BEGIN + "\n" + END + "\n")
    report.replace_between(path, BEGIN, END, body)


# -- the run ------------------------------------------------------------------------------------


def bodies(run_tag: str, template_variants: int) -> dict[str, bytes]:
    """The request body of each phase; the cached one's topic names the run."""
    varied = {**BRIEF, "temperature": TEMPERATURE}
    return {
        "provider": orjson.dumps({**varied, "variants": 1}),
        "template": orjson.dumps({**varied, "variants": template_variants}),
        "cached": orjson.dumps(
            {**BRIEF, "topic": f"{BRIEF['topic']} (run {run_tag})", "temperature": 0}
        ),
    }


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    loadgen.wrk_path()  # fail before creating anything
    with redis.Redis.from_url(args.redis_url, socket_timeout=5) as client:
        client.ping()
    run_tag = secrets.token_hex(4)
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
            "run_tag": run_tag,
        },
        "config": {
            "command": shlex.join([servers.interpreter(), "bench/generation.py", *argv]),
            "phases": args.phase_list,
            "workers": args.workers,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "delay": args.delay,
            "max_concurrency": args.max_concurrency,
            "same_text": args.same_text,
            "template_variants": args.template_variants,
            "template_connections": args.template_connections,
            "many_users": args.many_users,
            "rounds": args.rounds,
            "round_duration_s": args.round_duration,
            "max_in_flight": max_in_flight(args),
            "l2_ttl_s": args.l2_ttl,
            "redis_url": args.redis_url,
            "settings": args.settings,
            "temperature": TEMPERATURE,
        },
    }
    body_of = bodies(run_tag, args.template_variants)
    results["config"]["bodies"] = {k: v.decode() for k, v in body_of.items()}
    phases = {"provider": provider_phase, "template": template_phase, "cached": cached_phase}
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    with tempfile.TemporaryDirectory(prefix="lp-bench-generation-") as tmp:
        seed.create_database(args.database_url, name)
        log(started, f"created database {name}")
        try:
            seed.migrate(database_url, seed.clean_env())
            admin_key = seed.add_admin(database_url)
            senders = [Senders("one user", [admin_key])]
            if args.many_users:
                # One post each: seed.py writes users with their posts.
                members = seed.seed(database_url, users=args.many_users, posts_per_user=1)
                senders.append(
                    Senders(f"{args.many_users} users", [u.api_key for u in members.users])
                )
                log(started, f"seeded {args.many_users} members, one API key each")
            ctx = Context(
                args=args,
                database_url=database_url,
                database=seed.BenchDatabase(args.database_url, name),
                admin_key=admin_key,
                senders=senders,
                tmpdir=Path(tmp),
                started=started,
            )
            for phase in args.phase_list:
                results[phase] = phases[phase](ctx, body_of[phase])
        finally:
            for server_log in sorted(Path(tmp).glob("*.log")):
                results.setdefault("server_logs_tail", {})[server_log.name] = server_log.read_text(
                    errors="replace"
                ).splitlines()[-20:]
            seed.drop_database(args.database_url, name)
            log(started, f"dropped database {name}")
    results["meta"]["elapsed_s"] = time.monotonic() - started
    summary: dict[str, Any] = {}
    if "provider" in results:
        summary["provider"] = [provider_summary(r, args) for r in results["provider"]["runs"]]
    if "template" in results:
        summary["template"] = template_summary(results["template"], args)
    if "cached" in results:
        summary["cached"] = cached_summary(results["cached"])
    results["summary"] = summary
    results["targets"] = targets(results)
    return results


def measurements(value: Any) -> list[dict[str, Any]]:
    """Every wrk measurement in a phase's results, wherever it sits."""
    if isinstance(value, dict):
        if "server_errors_5xx" in value and "statuses" in value:
            return [value]
        return [m for v in value.values() for m in measurements(v)]
    if isinstance(value, list):
        return [m for v in value for m in measurements(v)]
    return []


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(run, args, argv)
    if saved is None:
        return 130
    results, shown = saved

    for phase, table in (
        ("provider", provider_table),
        ("template", template_table),
        ("cached", cached_table),
    ):
        if phase in results["summary"]:
            print()
            print(table(results))
    print()
    print(targets_table(results))
    print(f"\nraw results: {shown}")
    if not args.no_docs:
        update_docs(args.docs, block(results, shown))
        print(f"updated {args.docs}")

    bugs = [
        (phase, m["server"], m["error_samples"][:2])
        for phase in PHASES
        for m in measurements(results.get(phase))
        if m["server_errors_5xx"]
    ]
    for phase, server, samples in bugs:
        print(f"BUG: 5xx responses in {phase} ({server}): {samples}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
