"""Bulk jobs: a runner's items/s against the direct API in the same run, and its overhead.

    .venv/bin/python bench/jobs.py
    .venv/bin/python bench/jobs.py --analyze-items 2000 --generate-items 200 --duration 5
    .venv/bin/python bench/jobs.py --executor process     # analyses in a process pool, both sides

On a throwaway PostgreSQL database (an administrator and its API key) with Redis:

1. direct: `serve --workers W` (jobs off), wrk with bench/analysis.lua POSTing /v1/analyze for
   --duration seconds, every request a text never analysed (bench/corpus.py, a fresh seed), at
   --connections: answers/s. The baseline.
2. analyze job: the same API, plus W `linkedin-posts worker` processes; one job of
   --analyze-items other never-seen texts at concurrency --connections, submitted through the
   API: items/s from the job's own started_at and finished_at, as a share of (1). Also the
   workers' CPU per item, and the job's overhead per item: worker CPU per item less what one
   analysis costs in (1) (server CPU per answer).
3. generate job: the workers restarted with `LP_AI_PROVIDER=openai` pointed at
   tests/generation/fake_openai.py answering after --delay (0.3 s), `LP_AI_MAX_CONCURRENCY` 2 x
   --cap so each worker may give jobs --cap calls; one job of --generate-items briefs at
   concurrency --cap (the cap on calls across all workers): items/s against the ideal
   --cap / --delay. Twice: on the fresh workers (each starts at half its share of provider
   calls and doubles them every round, AIMD's slow start), then a second job on the same
   workers.

Prints a markdown table and writes the raw results to bench/results/<UTC time>-jobs.json.
Loopback only; every step is bounded in time; servers are stopped and the database dropped
however the run ends.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import corpus
import loadgen
import orjson
import seed
import servers
from run import server_env

from analysis import body_of, write_data

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "analysis.lua"
DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
JOB_TIMEOUT_S = 600


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--workers", type=int, default=2, help="API workers and job workers")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=15, help="seconds of direct load")
    parser.add_argument("--analyze-items", type=int, default=10_000)
    parser.add_argument("--generate-items", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.3, help="the fake provider's answer time")
    parser.add_argument("--cap", type=int, default=32, help="provider calls at once, all workers")
    parser.add_argument(
        "--executor",
        choices=("thread", "process"),
        default="thread",
        help="LP_ANALYSIS_EXECUTOR of the API and the workers alike",
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--profile", type=Path, help="py-spy raw profile of the first worker's analyze job here"
    )
    return parser.parse_args(argv)


def log(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:7.1f}s] {message}", flush=True)


def tree_cpu(server: servers.Server) -> float:
    return sum(servers.cpu_seconds(pid) for pid in server.tree_pids())


def shared_cpu() -> dict[str, float]:
    """CPU seconds so far of PostgreSQL's processes, Redis, and the whole machine."""
    busy, _ = servers.machine_cpu()
    return {
        "postgres": sum(map(servers.cpu_seconds, servers.processes_named("postgres"))),
        "redis": sum(map(servers.cpu_seconds, servers.processes_named("redis-server"))),
        "machine": busy / servers.CLK_TCK,
    }


def ms_per(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {name: round(1000 * (after[name] - before[name]) / max(n, 1), 2) for name in before}


def start_worker(name: str, env: dict[str, str], logdir: Path) -> servers.Server:
    command = [str(servers.BIN / "linkedin-posts"), "worker"]
    return servers.start(name, command, workers=1, port=0, env=env, logdir=logdir)


def wait_worker(worker: servers.Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
        if "running jobs" in worker.log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{worker.name} not running after {timeout:.0f}s:\n{worker.log_tail()}")


def submit(api: servers.Server, key: str, body: dict[str, Any]) -> str:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    status, answer = servers.request(api.port, "POST", "/v1/jobs", headers, orjson.dumps(body))
    if status != 201:
        raise RuntimeError(f"submit answered {status}: {answer[:300]!r}")
    job_id: str = orjson.loads(answer)["id"]
    return job_id


def wait_job(api: servers.Server, key: str, job_id: str, poll: float = 0.5) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        status, answer = servers.request(api.port, "GET", f"/v1/jobs/{job_id}", {"X-API-Key": key})
        job: dict[str, Any] = orjson.loads(answer)
        if status == 200 and job["status"] not in ("queued", "running"):
            return job
        time.sleep(poll)
    raise RuntimeError(f"job {job_id} not finished within {JOB_TIMEOUT_S}s")


def job_rate(job: dict[str, Any]) -> float:
    started = datetime.fromisoformat(job["started_at"])
    finished = datetime.fromisoformat(job["finished_at"])
    return float(job["succeeded"]) / (finished - started).total_seconds()


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    seed.create_database(args.database_url, name)
    logdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    running: list[servers.Server] = []
    fresh = int(time.time())
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        env = server_env(
            database_url,
            {
                "LP_REDIS_URL": args.redis_url,
                "LP_RATELIMIT_AI": "100000000/minute",
                "LP_ANALYSIS_PRELOAD": "true",
                "LP_ANALYSIS_EXECUTOR": args.executor,
                "LP_JOBS_MAX_IN_FLIGHT": "100",
                "LP_AI_DAILY_TOKENS_PER_USER": "0",
            },
        )
        seed.migrate(database_url, env)
        key = seed.add_admin(database_url)
        api = servers.start_api(
            workers=args.workers, env={**env, "LP_JOBS_ENABLED": "false"}, logdir=logdir
        )
        running.append(api)
        servers.wait_ready(api, "/v1/users/me", {"X-API-Key": key})
        log(started, "api ready")

        # 1. direct
        texts = corpus.posts(args.analyze_items + 20_000, seed=fresh)
        direct_texts, job_texts = texts[: -args.analyze_items], texts[-args.analyze_items :]
        data = logdir / "direct.data"
        write_data(data, key, args.threads, (body_of(p, False) for p in direct_texts))
        cpu_before, shared_before = tree_cpu(api), shared_cpu()
        m = loadgen.run_wrk(
            api,
            "unique",
            data,
            duration=args.duration,
            connections=args.connections,
            threads=args.threads,
            script=SCRIPT,
        ).as_dict()
        direct_cpu = tree_cpu(api) - cpu_before
        ok = int(m["statuses"].get("200", 0))
        direct_rate = ok / args.duration
        result["direct"] = {
            "answers_per_s": round(direct_rate, 1),
            "statuses": m["statuses"],
            "cpu_ms_per_answer": round(1000 * direct_cpu / max(ok, 1), 2),
            # wrk's share of the machine included: it answers nothing, but it is busy.
            "shared_cpu_ms_per_answer": ms_per(shared_before, shared_cpu(), ok),
        }
        log(started, f"direct: {direct_rate:.0f} analyses/s, {m['statuses']}")

        # 2. analyze job
        job_env = {**env, "LP_JOBS_RUNNER_CONCURRENCY": str(args.connections)}
        workers = [start_worker(f"worker{n}", job_env, logdir) for n in range(args.workers)]
        running.extend(workers)
        for worker in workers:
            wait_worker(worker)
        items = [{"text": p.text} for p in job_texts]
        spy = None
        if args.profile is not None:
            spy = subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "py-spy"),  # a dev tool: not in the runtime venv
                    "record",
                    "--format",
                    "raw",
                    "--gil",  # what holds the GIL: where the CPU goes
                    "-d",
                    "12",
                    "-o",
                    str(args.profile),
                    "-p",
                    str(workers[0].pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before, shared_before = sum(tree_cpu(w) for w in workers), shared_cpu()
        job_id = submit(
            api, key, {"kind": "analyze", "items": items, "concurrency": args.connections}
        )
        job = wait_job(api, key, job_id)
        worker_cpu = sum(tree_cpu(w) for w in workers) - cpu_before
        shared = ms_per(shared_before, shared_cpu(), job["succeeded"])
        if spy is not None:
            spy.wait(timeout=60)
        rate = job_rate(job)
        per_item_ms = 1000 * worker_cpu / max(job["succeeded"], 1)
        result["analyze_job"] = {
            "job": job,
            "items_per_s": round(rate, 1),
            "share_of_direct": round(rate / direct_rate, 3),
            "worker_cpu_ms_per_item": round(per_item_ms, 2),
            "overhead_cpu_ms_per_item": round(
                per_item_ms - result["direct"]["cpu_ms_per_answer"], 2
            ),
            # From the submit (10,000 items inserted) to the end.
            "shared_cpu_ms_per_item": shared,
        }
        log(
            started,
            f"analyze job: {rate:.0f} items/s = {rate / direct_rate:.1%} of direct, "
            f"{job['succeeded']} ok, {job['failed']} failed, {per_item_ms:.2f} ms CPU/item",
        )
        for worker in workers:
            servers.stop(worker)

        # 3. generate job
        fake_port = servers.free_port()
        fake = servers.start(
            "fake_openai",
            [
                sys.executable,
                "-m",
                "tests.generation.fake_openai",
                "--port",
                str(fake_port),
                "--delay",
                str(args.delay),
                "--vary",
            ],
            workers=1,
            port=fake_port,
            env={**seed.clean_env(), "PYTHONPATH": str(ROOT)},
            logdir=logdir,
        )
        running.append(fake)
        time.sleep(2)
        gen_env = {
            **job_env,
            "LP_AI_PROVIDER": "openai",
            "LP_AI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "LP_AI_API_KEY": "sk-bench",
            "LP_AI_MAX_CONCURRENCY": str(2 * args.cap),
        }
        workers = [start_worker(f"gen_worker{n}", gen_env, logdir) for n in range(args.workers)]
        running.extend(workers)
        for worker in workers:
            wait_worker(worker)
        ideal = args.cap / args.delay
        # Twice on the same workers: fresh workers probe the provider first (AIMD slow start
        # from half their share); a worker that has run a job starts at the pace it reached.
        for run_name in ("generate_job_fresh_workers", "generate_job"):
            briefs = [
                {"topic": f"Release notes {fresh} {run_name} {n}", "temperature": 0.7}
                for n in range(args.generate_items)
            ]
            job_id = submit(
                api, key, {"kind": "generate", "items": briefs, "concurrency": args.cap}
            )
            job = wait_job(api, key, job_id)
            rate = job_rate(job)
            result[run_name] = {
                "job": job,
                "items_per_s": round(rate, 1),
                "ideal_per_s": round(ideal, 1),
                "share_of_ideal": round(rate / ideal, 3),
            }
            log(
                started,
                f"{run_name}: {rate:.1f} items/s = {rate / ideal:.1%} of the ideal {ideal:.1f}, "
                f"{job['succeeded']} ok, {job['failed']} failed",
            )
        result["log_problems"] = {s.name: s.log_problems()[:20] for s in running}
        return result
    finally:
        for server in reversed(running):
            servers.stop(server)
        seed.drop_database(args.database_url, name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{stamp}-jobs.json"
    path.write_text(json.dumps(result, indent=2))
    d, a, g = result["direct"], result["analyze_job"], result["generate_job"]
    cold = result["generate_job_fresh_workers"]
    print()
    print("| measurement | rate | against | share |")
    print("|---|---|---|---|")
    print(f"| direct `POST /v1/analyze` | {d['answers_per_s']} answers/s | | |")
    print(f"| analyze job | {a['items_per_s']} items/s | direct | {a['share_of_direct']:.1%} |")
    print(
        f"| generate job, fresh workers | {cold['items_per_s']} items/s | ideal "
        f"{cold['ideal_per_s']} | {cold['share_of_ideal']:.1%} |"
    )
    print(
        f"| generate job, the same workers again | {g['items_per_s']} items/s | ideal "
        f"{g['ideal_per_s']} | {g['share_of_ideal']:.1%} |"
    )
    print(
        f"\nworker CPU per analyze item {a['worker_cpu_ms_per_item']} ms; one direct analysis "
        f"{d['cpu_ms_per_answer']} ms of server CPU; overhead {a['overhead_cpu_ms_per_item']} ms"
    )
    print(
        f"per answer, direct: {d['shared_cpu_ms_per_answer']}; "
        f"per item, analyze job: {a['shared_cpu_ms_per_item']} (ms of CPU)"
    )
    print(f"raw results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
