"""POST /v1/analyze over HTTP: texts never seen, texts analysed before, and what it costs in memory.

    .venv/bin/python bench/analysis.py
    .venv/bin/python bench/analysis.py --executors thread,process
    .venv/bin/python bench/analysis.py --duration 3 --no-docs
    .venv/bin/python bench/analysis.py --help

On a throwaway PostgreSQL database (one administrator and its API key), with Redis (the shared
L2 of the content cache; without it `serve --workers N` turns the cache off), N workers per
server, LP_ANALYSIS_PRELOAD=true so no model loads while measured, and the `ai` rate limit out of
reach, all measured with wrk and bench/analysis.lua:

0. Baseline: a server of the same settings but LP_ANALYSIS_PRELOAD=false, right after start:
   the RSS of a worker that has loaded no model and analysed nothing.
1. Unique, once per --executors value (thread, process), each on its own server: every request a
   text no cache holds, drawn from bench/corpus.py with a fresh seed (time-based) and checked
   absent from Redis first; each wrk thread sends its own slice in order, never one twice, and the
   executors get disjoint slices (they share Redis). An unrecorded --warmup of other fresh texts
   first. posts/s (answers 200 per second), p50, p99, errors, and from /metrics how many analyses
   ran (one per answer means no answer came from a cache).
2. Repeated, on the first executor's server: the 1,000 posts of corpus.posts(1000, seed=2026),
   each sent once first (analysed, kept in Redis), then random ones in short unrecorded chunks
   until every worker's L1 holds them all (no L1 miss in /metrics), then measured: a random one
   per request.
3. RSS (and PSS) of each worker, with its analysis processes for `process`: right after start
   (models preloaded), after the runs, and what that adds to the baseline's.

Prints markdown tables, writes the raw results to bench/results/<UTC time>-analysis.json and the
summary into docs/benchmarks.md between its own markers. Loopback only; every step is bounded in
time; servers are stopped, the database dropped and this run's Redis analysis keys deleted however
the run ends (the 1,000 repeated posts' only if Redis did not hold them before the run).
"""

import argparse
import math
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import corpus
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

from linkedin_posts.analysis.engine import VERSION as ANALYZER_VERSION
from linkedin_posts.cache import keys
from linkedin_posts.cache.shared import redis_key
from linkedin_posts.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "analysis.lua"
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BEGIN = "<!-- bench:analysis:begin (written by bench/analysis.py; edit outside these markers) -->"
END = "<!-- bench:analysis:end -->"
SECTION = """## Analysis: `POST /v1/analyze`

Measured by `bench/analysis.py` (see its docstring): texts never seen (every request a fresh
post of `bench/corpus.py`, so every answer is an analysis), the 1,000-post corpus analysed before
(answers from the cache), and the memory analysis adds to a worker, per executor
(`LP_ANALYSIS_EXECUTOR`). Redis is the shared L2; models are preloaded.
"""

EXECUTORS = ("thread", "process")
REPEATED_COUNT, REPEATED_SEED = 1000, 2026

TARGET_UNIQUE_PER_S = 250.0
TARGET_REPEATED_PER_S = 5000.0
TARGET_UNIQUE_P99_MS = 50.0
TARGET_ADDED_RSS_MB = 100.0

# The repeated corpus is warmed by sending each post once (analysed, kept in Redis and one L1),
# then random ones in chunks of this many seconds until a chunk's L1 misses are at most this
# share of its requests (every worker's L1 holds them all), within --repeated-warmup-max.
WARM_CHUNK_S = 2.0
WARM_L1_MISS_SHARE = 0.001


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL, help="(default: %(default)s)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="API workers per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument(
        "--warmup", type=float, default=2, help="unrecorded seconds of fresh texts before unique"
    )
    parser.add_argument(
        "--repeated-warmup-max",
        type=float,
        default=40,
        help="at most this many seconds for the passes over the repeated corpus",
    )
    parser.add_argument(
        "--executors",
        default="thread",
        help=f"LP_ANALYSIS_EXECUTOR values, comma-separated, of {','.join(EXECUTORS)}",
    )
    parser.add_argument(
        "--analysis-workers", type=int, default=1, help="LP_ANALYSIS_WORKERS per API worker"
    )
    parser.add_argument(
        "--posts-per-second",
        type=float,
        default=1000,
        help="fresh texts generated per second of unique load (each wrk thread stops if its "
        "share runs out, and the run says so)",
    )
    parser.add_argument(
        "--max-fresh", type=int, default=40_000, help="cap on the fresh texts generated in all"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="corpus seed of the fresh texts (default: the time)"
    )
    parser.add_argument(
        "--send-language",
        action="store_true",
        help="send each post's language (default: left out, so it is detected)",
    )
    parser.add_argument("--label", default="analysis", help="suffix of the results file")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not update --docs")
    add_settings_option(parser, "an extra setting for the API servers (repeatable)")
    args = parser.parse_args(argv)
    args.executor_list = [e.strip() for e in args.executors.split(",") if e.strip()]
    if not args.executor_list or set(args.executor_list) - set(EXECUTORS):
        parser.error(f"--executors takes a comma-separated subset of {','.join(EXECUTORS)}")
    if len(set(args.executor_list)) != len(args.executor_list):
        parser.error("--executors: each value once")
    if args.duration < 1 or min(args.connections, args.threads) < 1 or args.warmup < 0:
        parser.error("--duration, --connections and --threads must be at least 1, --warmup >= 0")
    if args.connections < args.threads or args.workers < 1 or args.analysis_workers < 1:
        parser.error("--connections >= --threads, --workers >= 1 and --analysis-workers >= 1")
    if args.posts_per_second <= 0 or args.max_fresh < 100:
        parser.error("--posts-per-second > 0 and --max-fresh >= 100")
    args.settings = settings_of(parser, args)
    if args.seed is None:
        args.seed = time.time_ns() // 1000  # a fresh corpus each run: Redis holds none of it
    return args


# -- texts, request bodies, Redis keys ----------------------------------------------------------


def body_of(post: corpus.Post, send_language: bool) -> bytes:
    payload = {"text": post.text}
    if send_language:
        payload["language"] = post.language
    return orjson.dumps(payload)  # one line: orjson escapes every control character


def write_data(path: Path, api_key: str, threads: int, bodies: Iterable[bytes]) -> int:
    """The file analysis.lua reads: the key, the wrk thread count, then one body a line."""
    count = 0
    with path.open("wb") as out:
        out.write(f"{api_key}\n{threads}\n".encode())
        for body in bodies:
            assert b"\n" not in body
            assert b"\r" not in body
            out.write(body + b"\n")
            count += 1
    path.chmod(0o600)  # an API key, if a throwaway one
    return count


def analysis_fingerprint(env: dict[str, str]) -> str | None:
    """AnalysisRunner.fingerprint for the servers' settings: part of every analysis cache key."""
    fields = Settings.model_fields
    values: dict[str, Any] = {}
    for name in ("analysis_languages", "analysis_accuracy", "analysis_keywords"):
        value = env.get(f"LP_{name.upper()}")
        values[name] = (
            value if value is not None else fields[name].get_default(call_default_factory=True)
        )
    try:
        settings = Settings(_env_file=None, **values)
    except ValueError:
        return None
    return ",".join(
        [*settings.analysis_languages, settings.analysis_accuracy, str(settings.analysis_keywords)]
    )


def cache_key(fingerprint: str, post: corpus.Post, send_language: bool) -> str:
    """The Redis key of the analysis of this request (analysis/service.py, cache/shared.py)."""
    language = post.language if send_language else ""
    parts = (ANALYZER_VERSION, fingerprint, language, post.text)
    return redis_key(keys.content("analysis", *parts))


def existing(client: redis.Redis, names: Sequence[str]) -> list[bool]:
    found: list[bool] = []
    for start in range(0, len(names), 1000):
        pipe = client.pipeline(transaction=False)
        for name in names[start : start + 1000]:
            pipe.exists(name)
        found.extend(bool(n) for n in pipe.execute())
    return found


def delete_keys(redis_url: str, names: Sequence[str]) -> int:
    """UNLINK these analysis entries and their leases (content-addressed: only this run's)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    deleted = 0
    try:
        everything = [n for name in names for n in (name, f"{name}:lease")]
        for start in range(0, len(everything), 1000):
            deleted += int(client.unlink(*everything[start : start + 1000]))
    finally:
        client.close()
    return deleted


# -- servers, memory, metrics -------------------------------------------------------------------


def api_env(args: argparse.Namespace, database_url: str, **settings: str) -> dict[str, str]:
    # run.py's: production, a random secret, read and write limits out of reach, in-flight cap
    # 1000; here also the `ai` class (analysis) out of reach: the limiter still counts each one.
    return server_env(
        database_url,
        {
            "LP_REDIS_URL": args.redis_url,
            "LP_RATELIMIT_AI": "100000000/minute",
            "LP_ANALYSIS_PRELOAD": "true",
            "LP_ANALYSIS_WORKERS": str(args.analysis_workers),
            **settings,
            **args.settings,
        },
    )


def descendants(pid: int) -> list[int]:
    found, todo = [], servers.children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(servers.children(child))
    return found


def pss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def memory(server: servers.Server) -> list[dict[str, Any]]:
    """Each worker's RSS and PSS, alone and with its descendants (forkserver, pool processes)."""
    out = []
    for pid in server.worker_pids():
        below: list[dict[str, Any]] = [
            {
                "pid": child,
                "cmd": servers.cmdline(child)[:120],
                "rss_kib": servers.status_kib(child, "VmRSS") or 0,
                "pss_kib": pss_kib(child) or 0,
            }
            for child in descendants(pid)
        ]
        rss = servers.status_kib(pid, "VmRSS") or 0
        pss = pss_kib(pid) or 0
        out.append(
            {
                "pid": pid,
                "rss_kib": rss,
                "hwm_kib": servers.status_kib(pid, "VmHWM"),
                "pss_kib": pss,
                "descendants": below,
                "tree_rss_kib": rss + sum(c["rss_kib"] for c in below),
                "tree_pss_kib": pss + sum(c["pss_kib"] for c in below),
            }
        )
    return out


def tree_cpu(server: servers.Server) -> dict[int, float]:
    """CPU seconds of every process of the server, pool processes included (loadgen counts the
    supervisor and its children only)."""
    return {pid: servers.cpu_seconds(pid) for pid in [server.pid, *descendants(server.pid)]}


def metrics(server: servers.Server) -> dict[str, float]:
    """The /metrics figures this benchmark reads, summed over the workers."""
    status, body = servers.request(server.port, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}: {body[:200]!r}")
    wanted = ("lp_analysis_duration_seconds_count", "lp_analysis_duration_seconds_sum")
    found: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith(wanted) or name.startswith("lp_cache_requests_total{"):
            key = name.replace('"', "")
            found[key] = found.get(key, 0.0) + float(value)
    return found


def metrics_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    delta = {k: round(after[k] - before.get(k, 0.0), 6) for k in after}
    count = sum(v for k, v in delta.items() if k.startswith("lp_analysis_duration_seconds_count"))
    seconds = sum(v for k, v in delta.items() if k.startswith("lp_analysis_duration_seconds_sum"))
    return {
        "delta": delta,
        "analyses": round(count),
        "analysis_mean_ms": seconds * 1000 / count if count else None,
    }


def measure(
    server: servers.Server,
    scenario: str,
    data_path: Path,
    args: argparse.Namespace,
    *,
    duration: float,
) -> dict[str, Any]:
    """One wrk run with the /metrics and whole-tree CPU deltas around it."""
    before, cpu_before = metrics(server), tree_cpu(server)
    m = loadgen.run_wrk(
        server,
        scenario,
        data_path,
        duration=duration,
        connections=args.connections,
        threads=args.threads,
        script=SCRIPT,
    )
    cpu_after, after = tree_cpu(server), metrics(server)
    result = m.as_dict()
    result.pop("raw_output", None)
    result["metrics"] = metrics_delta(before, after)
    result["cpu_s"]["server_tree"] = round(
        sum(t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items()), 2
    )
    return result


def probe(server: servers.Server, api_key: str, body: bytes) -> dict[str, Any]:
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    status, answer = servers.request(server.port, "POST", "/v1/analyze", headers, body)
    if status != 200:
        raise RuntimeError(f"{server.name}: POST /v1/analyze answered {status}: {answer[:300]!r}")
    analysis: dict[str, Any] = orjson.loads(answer)
    if "counts" not in analysis or "language" not in analysis:
        raise RuntimeError(f"{server.name}: POST /v1/analyze answered {answer[:300]!r}")
    return analysis


def send_each_once(
    server: servers.Server, api_key: str, bodies: Sequence[bytes], concurrency: int, budget: float
) -> dict[str, Any]:
    """POST each body once, `concurrency` at a time, new connections (so any worker answers)."""
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    deadline = time.monotonic() + budget
    statuses: dict[str, int] = {}
    samples: list[str] = []

    def send(body: bytes) -> str:
        if time.monotonic() > deadline:
            return "skipped"
        try:
            status, answer = servers.request(server.port, "POST", "/v1/analyze", headers, body)
        except OSError as exc:
            return f"error {type(exc).__name__}"
        if status >= 400 and len(samples) < 5:
            samples.append(f"{status} {answer[:300]!r}")
        return str(status)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for outcome in pool.map(send, bodies):
            statuses[outcome] = statuses.get(outcome, 0) + 1
    return {
        "seconds": round(time.monotonic() - started, 2),
        "statuses": statuses,
        "error_samples": samples,
    }


def warm_repeated(
    server: servers.Server,
    api_key: str,
    bodies: Sequence[bytes],
    data_path: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    started = time.monotonic()
    budget = args.repeated_warmup_max
    first = send_each_once(server, api_key, bodies, args.connections, budget)
    chunks = []
    while time.monotonic() - started < budget:
        chunk = min(WARM_CHUNK_S, max(1.0, budget - (time.monotonic() - started)))
        m = measure(server, "repeated", data_path, args, duration=chunk)
        misses = sum(v for k, v in m["metrics"]["delta"].items() if "level=l1,result=miss" in k)
        chunks.append(
            {
                "requests": m["requests"],
                "statuses": m["statuses"],
                "server_errors_5xx": m["server_errors_5xx"],
                "error_samples": m["error_samples"],
                "analyses": m["metrics"]["analyses"],
                "l1_misses": round(misses),
            }
        )
        if misses <= WARM_L1_MISS_SHARE * max(1, m["requests"]):
            break
    return {
        "seconds": round(time.monotonic() - started, 1),
        "first_pass": first,
        "chunks": chunks,
    }


# -- the phases ---------------------------------------------------------------------------------


def baseline_phase(
    args: argparse.Namespace, database_url: str, admin_key: str, logdir: Path, started: float
) -> dict[str, Any]:
    env = api_env(args, database_url, LP_ANALYSIS_PRELOAD="false", LP_ANALYSIS_EXECUTOR="thread")
    api = servers.start_api(workers=args.workers, env=env, logdir=logdir, name="api_baseline")
    try:
        servers.wait_ready(api, "/v1/users/me", {"X-API-Key": admin_key})
        time.sleep(1)  # let start-up settle (subscriptions, first collections)
        workers = memory(api)
        log(
            started,
            "baseline (no model loaded): worker RSS "
            + " / ".join(f"{w['rss_kib'] / 1024:.0f}" for w in workers)
            + " MB",
        )
        return {"workers": workers, "log_problems": api.log_problems()[:50]}
    except Exception:
        print(f"--- {api.name} server log (tail) ---\n{api.log_tail()}", file=sys.stderr)
        raise
    finally:
        servers.stop(api)


def executor_phase(
    args: argparse.Namespace,
    executor: str,
    database_url: str,
    admin_key: str,
    files: dict[str, Path],
    probe_body: bytes,
    repeated_bodies: Sequence[bytes],
    logdir: Path,
    started: float,
) -> dict[str, Any]:
    env = api_env(args, database_url, LP_ANALYSIS_EXECUTOR=executor)
    api = servers.start_api(workers=args.workers, env=env, logdir=logdir, name=f"api_{executor}")
    result: dict[str, Any] = {"executor": executor, "analysis_workers": args.analysis_workers}
    try:
        ready = servers.wait_ready(api, "/v1/users/me", {"X-API-Key": admin_key})
        time.sleep(1)
        result["ready_s"] = ready
        result["memory_start"] = memory(api)
        log(
            started,
            f"{executor}: ready ({ready:.1f}s), worker RSS "
            + " / ".join(f"{w['tree_rss_kib'] / 1024:.0f}" for w in result["memory_start"])
            + " MB (with analysis processes)",
        )
        result["probe"] = probe(api, admin_key, probe_body)
        if args.warmup > 0:
            w = measure(api, "unique", files["warm"], args, duration=args.warmup)
            result["unique_warmup"] = w
            time.sleep(0.5)
        m = measure(api, "unique", files["unique"], args, duration=args.duration)
        result["unique"] = m
        result["memory_after_unique"] = memory(api)
        s = unique_summary(m)
        log(
            started,
            f"{executor}: unique {s['posts_per_s']:.0f} posts/s, p50 {s['p50_ms']:.1f} "
            f"p99 {s['p99_ms']:.1f} ms, errors {s['errors']}, analyses {s['analyses']} "
            f"for {s['ok']} answers 200",
        )
        if repeated_bodies:
            warm = warm_repeated(api, admin_key, repeated_bodies, files["repeated"], args)
            result["repeated_warmup"] = warm
            time.sleep(0.5)
            rep = measure(api, "repeated", files["repeated"], args, duration=args.duration)
            result["repeated"] = rep
            result["memory_after_repeated"] = memory(api)
            r = repeated_summary(rep)
            log(
                started,
                f"{executor}: repeated {r['posts_per_s']:.0f} posts/s, p50 {r['p50_ms']:.1f} "
                f"p99 {r['p99_ms']:.1f} ms, errors {r['errors']}, analyses {r['analyses']} "
                f"(warm-up {warm['seconds']:.1f}s: first pass {warm['first_pass']['statuses']}, "
                f"{len(warm['chunks'])} chunk(s) of random ones, the last "
                f"{warm['chunks'][-1]['l1_misses'] if warm['chunks'] else '?'} L1 misses)",
            )
        result["memory_end"] = memory(api)
        result["log_problems"] = api.log_problems()[:50]
        return result
    except Exception:
        print(f"--- {api.name} server log (tail) ---\n{api.log_tail()}", file=sys.stderr)
        raise
    finally:
        servers.stop(api)


# -- summaries, tables, targets -----------------------------------------------------------------


def _ok(m: dict[str, Any]) -> int:
    return int(m["statuses"].get("200", 0))


def _answers(m: dict[str, Any]) -> int:
    return sum(m["statuses"].values())


def unique_summary(m: dict[str, Any]) -> dict[str, Any]:
    ok, answers = _ok(m), _answers(m)
    analyses = m["metrics"]["analyses"]
    machine = m["cpu_s"]
    return {
        "posts_per_s": ok / m["duration_s"] if m["duration_s"] else 0.0,
        "requests_per_s": m["requests_per_s"],
        "p50_ms": m["p50_ms"],
        "p90_ms": m["p90_ms"],
        "p99_ms": m["p99_ms"],
        "max_ms": m["max_ms"],
        "errors": m["errors"],
        "non_2xx": m["non_2xx_3xx"],
        "server_errors_5xx": m["server_errors_5xx"],
        "ok": ok,
        "ok_share": ok / answers if answers else 0.0,
        "analyses": analyses,
        "analyses_per_ok": analyses / ok if ok else None,
        "analysis_mean_ms": m["metrics"]["analysis_mean_ms"],
        "server_cpu_ms_per_post": machine["server_tree"] * 1000 / ok if ok else None,
        "machine_busy": machine["machine_busy"] / machine["machine_capacity"]
        if machine["machine_capacity"]
        else None,
        "threads_ran_out": m["extra"].get("threads_ran_out", 0),
        "repeats": m["extra"].get("repeats", 0),
    }


def repeated_summary(m: dict[str, Any]) -> dict[str, Any]:
    return unique_summary(m)


def _mb(kib: float | None) -> float:
    return (kib or 0) / 1024


def memory_summary(result: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Per worker (max over workers): RSS at the baseline, after start, after the runs."""
    base = statistics.median(w["rss_kib"] for w in baseline["workers"]) if baseline else 0
    end = result["memory_end"]
    start = result["memory_start"]
    added = [w["tree_rss_kib"] - base for w in end]
    return {
        "baseline_rss_mb": _mb(base),
        "start_rss_mb": max(_mb(w["tree_rss_kib"]) for w in start) if start else 0.0,
        "end_rss_mb": max(_mb(w["tree_rss_kib"]) for w in end) if end else 0.0,
        "end_worker_only_rss_mb": max(_mb(w["rss_kib"]) for w in end) if end else 0.0,
        "end_pss_mb": max(_mb(w["tree_pss_kib"]) for w in end) if end else 0.0,
        "added_rss_mb": _mb(max(added)) if added else 0.0,
        "added_by_models_mb": max(_mb(w["tree_rss_kib"] - base) for w in start) if start else 0.0,
        "analysis_processes": max((len(w["descendants"]) for w in end), default=0),
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _errors(m: dict[str, Any]) -> str:
    if not m["errors"]:
        return "0"
    codes = ", ".join(f"{c}: {n}" for c, n in m["statuses"].items() if not c.startswith("2"))
    socket = sum(m["socket_errors"].values())
    detail = ", ".join(part for part in (codes, f"{socket} socket" if socket else "") if part)
    return f"{m['errors']} ({detail})"


def unique_table(results: dict[str, Any]) -> str:
    cfg = results["config"]
    rows = [
        "| executor | posts/s (200s) | p50 ms | p99 ms | max ms | errors | non-2xx | 200s "
        "| analyses ÷ 200s | analysis ms (mean, with queue) | server CPU ms/post | machine busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["executors"]:
        m = r["unique"]
        s = unique_summary(m)
        out = s["threads_ran_out"]
        note = f" (ran out of texts: {out} thread(s))" if out else ""
        per_ok = "?" if s["analyses_per_ok"] is None else f"{s['analyses_per_ok']:.2f}"
        cpu = "?" if s["server_cpu_ms_per_post"] is None else f"{s['server_cpu_ms_per_post']:.1f}"
        busy = "?" if s["machine_busy"] is None else f"{s['machine_busy']:.0%}"
        rows.append(
            f"| `{r['executor']}`, {cfg['analysis_workers']} per worker "
            f"| {s['posts_per_s']:.0f}{note} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} "
            f"| {_ms(s['max_ms'])} | {_errors(m)} | {s['non_2xx']} | {s['ok_share']:.1%} "
            f"| {per_ok} | {_ms(s['analysis_mean_ms'])} | {cpu} | {busy} |"
        )
    return "\n".join(rows)


def repeated_table(results: dict[str, Any]) -> str:
    rows = [
        "| executor | corpus | posts/s | p50 ms | p99 ms | max ms | errors | analyses while "
        "measured | server CPU ms/post |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["executors"]:
        if "repeated" not in r:
            continue
        m = r["repeated"]
        s = repeated_summary(m)
        cpu = "?" if s["server_cpu_ms_per_post"] is None else f"{s['server_cpu_ms_per_post']:.2f}"
        rows.append(
            f"| `{r['executor']}` | {REPEATED_COUNT} posts (seed {REPEATED_SEED}), warmed "
            f"| {s['posts_per_s']:.0f} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} "
            f"| {_ms(s['max_ms'])} | {_errors(m)} | {s['analyses']} | {cpu} |"
        )
    return "\n".join(rows)


def memory_table(results: dict[str, Any]) -> str:
    rows = [
        "| executor | baseline RSS MB (no model, nothing analysed) | after start (models "
        "preloaded) | after the runs | added by analysis | of which models at start "
        "| PSS after the runs | analysis processes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["executors"]:
        s = memory_summary(r, results.get("baseline") or {})
        rows.append(
            f"| `{r['executor']}` | {s['baseline_rss_mb']:.0f} | {s['start_rss_mb']:.0f} "
            f"| {s['end_rss_mb']:.0f} | {s['added_rss_mb']:.0f} | {s['added_by_models_mb']:.0f} "
            f"| {s['end_pss_mb']:.0f} | {s['analysis_processes']} |"
        )
    return "\n".join(rows)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    connections = results["config"]["connections"]
    checks = []
    for r in results["executors"]:
        e = r["executor"]
        u = unique_summary(r["unique"])
        mem = memory_summary(r, results.get("baseline") or {})
        checks.extend(
            [
                (
                    e,
                    f"≥ {TARGET_UNIQUE_PER_S:.0f} unique posts/s",
                    u["posts_per_s"] >= TARGET_UNIQUE_PER_S,
                    f"{u['posts_per_s']:.0f}",
                ),
                (
                    e,
                    f"unique p99 < {TARGET_UNIQUE_P99_MS:.0f} ms at {connections} connections",
                    u["p99_ms"] < TARGET_UNIQUE_P99_MS,
                    f"{u['p99_ms']:.1f} ms",
                ),
                (
                    e,
                    f"RSS added by analysis ≤ {TARGET_ADDED_RSS_MB:.0f} MB per worker",
                    mem["added_rss_mb"] <= TARGET_ADDED_RSS_MB,
                    f"{mem['added_rss_mb']:.0f} MB",
                ),
            ]
        )
        if "repeated" in r:
            rep = repeated_summary(r["repeated"])
            checks.append(
                (
                    e,
                    f"≥ {TARGET_REPEATED_PER_S:,.0f} repeated posts/s",
                    rep["posts_per_s"] >= TARGET_REPEATED_PER_S,
                    f"{rep['posts_per_s']:.0f}",
                )
            )
        errors = r["unique"]["errors"] + (r["repeated"]["errors"] if "repeated" in r else 0)
        checks.append((e, "0 errors", errors == 0, str(errors)))
    return [{"executor": e, "target": t, "met": ok, "measured": v} for e, t, ok, v in checks]


def targets_table(results: dict[str, Any]) -> str:
    rows = ["| executor | target | measured | met |", "|---|---|---:|:---:|"]
    rows.extend(
        f"| `{v['executor']}` | {v['target']} | {v['measured']} "
        f"| {'yes' if v['met'] else '**no**'} |"
        for v in targets(results)
    )
    return "\n".join(rows)


def block(results: dict[str, Any], results_file: str) -> str:
    meta, cfg = results["meta"], results["config"]
    return "\n".join(
        [
            f"### Recorded run: {meta['started_utc']}",
            "",
            f"- Command: `{cfg['command']}`",
            f"- Raw results: [`{results_file}`](../{results_file})",
            f"- Load: `wrk --latency -t{cfg['threads']} -c{cfg['connections']}`, "
            f"{cfg['workers']} API workers per server, Redis L2, `LP_ANALYSIS_PRELOAD=true`, "
            f"`LP_ANALYSIS_WORKERS={cfg['analysis_workers']}`; language "
            + ("sent with each text" if cfg["send_language"] else "detected (not sent)")
            + f". Unique: {cfg['duration_s']:g} s after {cfg['warmup_s']:g} s of other fresh "
            f"texts, {cfg['fresh_texts']['per_executor']} fresh texts per executor (corpus seed "
            f"{cfg['seed']}, none in Redis before). Repeated: {REPEATED_COUNT} posts, each sent "
            f"once, then random ones in {WARM_CHUNK_S:g} s chunks until one has at most "
            f"{WARM_L1_MISS_SHARE:.1%} L1 misses, then {cfg['duration_s']:g} s measured.",
            "- RSS per worker, the worker with its analysis processes (forkserver and pool) for "
            "`process`, the largest of the workers; added = after the runs minus the baseline "
            "server's worker (same settings, `LP_ANALYSIS_PRELOAD=false`, nothing analysed). It "
            "includes the L1 entries of the analyses (`LP_CACHE_L1_MAX_BYTES`). PSS counts the "
            "pages processes share once.",
            f"- Machine: {meta['machine']['cpus']} CPUs ({meta['machine']['cpu_model']}), "
            f"load average at start {meta['machine']['loadavg_at_start'][0]:.2f}; "
            f"Python {meta['versions']['python']}, uvicorn {meta['versions']['uvicorn']}, "
            f"FastAPI {meta['versions']['fastapi']}; {meta['versions']['wrk']}.",
            f"- Code: commit `{meta['git']['commit'][:12]}`"
            + (" with uncommitted changes in src/" if meta["git"]["src_dirty"] else "")
            + f"; run took {meta['elapsed_s']:.0f} s.",
            "",
            "Texts never seen (every answer an analysis):",
            "",
            unique_table(results),
            "",
            "Texts analysed before (answers from the cache):",
            "",
            repeated_table(results),
            "",
            "Memory per worker (MB):",
            "",
            memory_table(results),
            "",
            targets_table(results),
        ]
    )


def update_docs(path: Path, body: str) -> None:
    text = path.read_text() if path.exists() else report.TEMPLATE
    if BEGIN not in text or END not in text:
        path.write_text(text.rstrip() + "\n\n" + SECTION + "\n" + BEGIN + "\n" + END + "\n")
    report.replace_between(path, BEGIN, END, body)


# -- the run ------------------------------------------------------------------------------------


def fresh_texts(
    args: argparse.Namespace, avoid: set[str], fingerprint: str | None, started: float
) -> tuple[list[corpus.Post], dict[str, Any]]:
    """Fresh posts for every executor's warm-up and measurement: none in the repeated corpus,
    none in Redis already."""
    per_executor = math.ceil((args.warmup + args.duration) * args.posts_per_second)
    per_executor = min(per_executor, args.max_fresh // len(args.executor_list))
    wanted = per_executor * len(args.executor_list) + 1  # and one for the probes
    t = time.monotonic()
    posts = [p for p in corpus.posts(wanted, seed=args.seed) if p.text not in avoid]
    info: dict[str, Any] = {"generated": wanted, "in_repeated_corpus": wanted - len(posts)}
    if fingerprint is not None:
        with redis.Redis.from_url(args.redis_url, socket_timeout=5) as client:
            held = existing(client, [cache_key(fingerprint, p, args.send_language) for p in posts])
        info["already_in_redis"] = sum(held)
        posts = [p for p, h in zip(posts, held, strict=True) if not h]
    info["seconds"] = round(time.monotonic() - t, 1)
    info["per_executor"] = (len(posts) - 1) // len(args.executor_list)
    log(
        started,
        f"{len(posts)} fresh texts (seed {args.seed}) in {info['seconds']:.1f}s, "
        f"{info['in_repeated_corpus']} dropped as in the repeated corpus, "
        f"{info.get('already_in_redis', '?')} as already in Redis",
    )
    return posts, info


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    loadgen.wrk_path()  # fail before creating anything
    with redis.Redis.from_url(args.redis_url, socket_timeout=5) as client:
        client.ping()
    results: dict[str, Any] = {
        "meta": {
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            **metadata_of_run(args),
        },
        "config": {
            "command": shlex.join([".venv/bin/python", "bench/analysis.py", *argv]),
            "workers": args.workers,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "repeated_warmup_max_s": args.repeated_warmup_max,
            "executors": args.executor_list,
            "analysis_workers": args.analysis_workers,
            "posts_per_second": args.posts_per_second,
            "seed": args.seed,
            "send_language": args.send_language,
            "redis_url": args.redis_url,
            "settings": args.settings,
        },
        "executors": [],
    }
    # Every cache key of this run's texts: the fresh ones always go; the repeated corpus's only
    # if Redis did not hold them before (another run's warm cache stays warm).
    to_delete: list[str] = []
    fingerprint = analysis_fingerprint(api_env(args, "unused"))
    results["meta"]["fingerprint"] = fingerprint
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    with tempfile.TemporaryDirectory(prefix="lp-bench-analysis-") as tmp:
        tmpdir = Path(tmp)
        seed.create_database(args.database_url, name)
        log(started, f"created database {name}")
        try:
            seed.migrate(database_url, seed.clean_env())
            admin_key = seed.add_admin(database_url)

            repeated = corpus.posts(REPEATED_COUNT, seed=REPEATED_SEED)
            fresh, info = fresh_texts(args, {p.text for p in repeated}, fingerprint, started)
            results["config"]["fresh_texts"] = info
            if fingerprint is not None:
                to_delete.extend(cache_key(fingerprint, p, args.send_language) for p in fresh)
                names = [cache_key(fingerprint, p, args.send_language) for p in repeated]
                with redis.Redis.from_url(args.redis_url, socket_timeout=5) as client:
                    held = existing(client, names)
                results["meta"]["repeated_already_in_redis"] = sum(held)
                to_delete.extend(n for n, h in zip(names, held, strict=True) if not h)

            probe_post, fresh = fresh[0], fresh[1:]
            probe_body = body_of(probe_post, args.send_language)
            repeated_path = tmpdir / "repeated.txt"
            repeated_bodies = [body_of(p, args.send_language) for p in repeated]
            write_data(repeated_path, admin_key, args.threads, repeated_bodies)
            per = info["per_executor"]
            warm_n = math.ceil(args.warmup * args.posts_per_second) if args.warmup > 0 else 0
            warm_n = min(warm_n, per // 4)
            executor_files = []
            for i, executor in enumerate(args.executor_list):
                own = fresh[i * per : (i + 1) * per]
                files = {"repeated": repeated_path}
                for kind, part in (("warm", own[:warm_n]), ("unique", own[warm_n:])):
                    files[kind] = tmpdir / f"{kind}-{executor}.txt"
                    bodies = (body_of(p, args.send_language) for p in part)
                    write_data(files[kind], admin_key, args.threads, bodies)
                executor_files.append(files)
            results["config"]["fresh_texts"]["warmup_per_executor"] = warm_n
            results["config"]["fresh_texts"]["measured_per_executor"] = per - warm_n

            results["baseline"] = baseline_phase(args, database_url, admin_key, tmpdir, started)
            for i, executor in enumerate(args.executor_list):
                r = executor_phase(
                    args,
                    executor,
                    database_url,
                    admin_key,
                    executor_files[i],
                    probe_body,
                    repeated_bodies=repeated_bodies if i == 0 else (),
                    logdir=tmpdir,
                    started=started,
                )
                results["executors"].append(r)
            if fingerprint is not None:
                with redis.Redis.from_url(args.redis_url, socket_timeout=5) as client:
                    found = client.exists(cache_key(fingerprint, probe_post, args.send_language))
                # The probe's analysis must be in Redis under the key computed here; else the
                # keys of this run are not the server's, and deleting them deletes nothing.
                results["meta"]["cache_keys_verified"] = bool(found)
        finally:
            for server_log in sorted(tmpdir.glob("*.log")):
                results.setdefault("server_logs_tail", {})[server_log.name] = server_log.read_text(
                    errors="replace"
                ).splitlines()[-20:]
            seed.drop_database(args.database_url, name)
            log(started, f"dropped database {name}")
            if to_delete:
                try:
                    deleted = delete_keys(args.redis_url, to_delete)
                    log(started, f"deleted {deleted} Redis analysis keys of this run")
                except redis.RedisError as exc:  # they expire with the L2 TTL anyway
                    log(started, f"could not delete this run's Redis analysis keys: {exc}")
    results["meta"]["elapsed_s"] = time.monotonic() - started
    results["summary"] = {
        r["executor"]: {
            "unique": unique_summary(r["unique"]),
            "repeated": repeated_summary(r["repeated"]) if "repeated" in r else None,
            "memory": memory_summary(r, results["baseline"]),
        }
        for r in results["executors"]
    }
    results["targets"] = targets(results)
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    saved = run_and_save(run, args, argv)
    if saved is None:
        return 130
    results, shown = saved

    print()
    print(unique_table(results))
    print()
    print(repeated_table(results))
    print()
    print(memory_table(results))
    print()
    print(targets_table(results))
    if not results["meta"].get("cache_keys_verified", False):
        print("\nnote: this run's cache keys were not found in Redis as computed here")
    print(f"\nraw results: {shown}")
    if not args.no_docs:
        update_docs(args.docs, block(results, shown))
        print(f"updated {args.docs}")

    bugs = []
    for r in results["executors"]:
        for phase in ("unique_warmup", "unique", "repeated"):
            m = r.get(phase)
            if m and m["server_errors_5xx"]:
                bugs.append((r["executor"], phase, m["error_samples"][:2]))
        warm = r.get("repeated_warmup") or {"first_pass": {"statuses": {}}, "chunks": []}
        first = warm["first_pass"]
        if any(code.startswith("5") for code in first["statuses"]):
            bugs.append((r["executor"], "repeated warm-up", first["error_samples"][:2]))
        for chunk in warm["chunks"]:
            if chunk["server_errors_5xx"]:
                bugs.append((r["executor"], "repeated warm-up", chunk["error_samples"][:2]))
    for executor, phase, samples in bugs:
        print(f"BUG: 5xx responses in {phase} ({executor}): {samples}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
