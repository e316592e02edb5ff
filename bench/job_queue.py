"""The Redis job queue: what a message costs, and how soon a worker starts a submitted job.

    .venv-runtime/bin/python bench/job_queue.py
    .venv-runtime/bin/python bench/job_queue.py --messages 2000 --jobs 10    # a quick look

1. taskiq on Redis, one process, no server: --messages announcements sent (XADD through
   taskiq's kicker), then received and acknowledged by taskiq's Receiver with a task that does
   nothing: wall time and this process's CPU per message, each side. What one message per item
   would add to every item, against what the design sends (one announcement per job and worker).
2. A throwaway PostgreSQL database, the API (jobs off) and one `linkedin-posts worker`:
   --jobs one-item analyze jobs submitted one after another (each waited for), and for each
   the time from the submit (created_at) to its first claim (started_at). Twice, in the same
   run: with the queue (the worker would look in the database only every 600 s), and without it
   (LP_JOBS_QUEUE_ENABLED=false: the worker looks every LP_JOBS_POLL_SECONDS, 1 s).

Prints the figures and writes bench/results/<UTC time>-job_queue.json. Loopback only; each
step is bounded in time; servers are stopped, the database dropped and the stream deleted
however the run ends.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import seed
import servers
from run import server_env

from jobs import DEFAULT_REDIS_URL, DEFAULT_SERVER_URL, start_worker, submit, wait_job, wait_worker

ROOT = Path(__file__).resolve().parent.parent
RECEIVE_TIMEOUT_S = 120


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=20, help="one-item jobs per mode")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


def cpu() -> float:
    return time.process_time()


async def message_cost(redis_url: str, messages: int, stream: str) -> dict[str, Any]:
    from taskiq.acks import AcknowledgeType
    from taskiq.receiver import Receiver
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(redis_url, queue_name=stream, consumer_group_name="bench")
    received = 0
    done = asyncio.Event()

    async def nothing(n: int) -> None:
        nonlocal received
        received += 1
        if received == messages:
            done.set()

    task = broker.register_task(nothing, task_name="bench.nothing")
    await broker.startup()
    wall, used = time.perf_counter(), cpu()
    for n in range(messages):
        await task.kiq(n)
    sent_wall, sent_cpu = time.perf_counter() - wall, cpu() - used

    broker.is_worker_process = True
    receiver = Receiver(
        broker, max_async_tasks=100, run_startup=False, ack_type=AcknowledgeType.WHEN_EXECUTED
    )
    wall, used = time.perf_counter(), cpu()
    listening = asyncio.create_task(receiver.listen(asyncio.Event()))
    await asyncio.wait_for(done.wait(), RECEIVE_TIMEOUT_S)
    received_wall, received_cpu = time.perf_counter() - wall, cpu() - used
    listening.cancel()
    await asyncio.wait([listening])
    await broker.shutdown()

    def per(seconds: float) -> float:
        return round(1e6 * seconds / messages, 1)

    return {
        "messages": messages,
        "send_wall_us": per(sent_wall),
        "send_cpu_us": per(sent_cpu),
        "receive_and_ack_wall_us": per(received_wall),
        "receive_and_ack_cpu_us": per(received_cpu),
    }


def pickup(
    api: servers.Server, key: str, worker_env: dict[str, str], logdir: Path, jobs: int, mode: str
) -> dict[str, Any]:
    worker = start_worker(f"worker_{mode}", worker_env, logdir)
    try:
        wait_worker(worker)
        time.sleep(1)  # past the worker's first look in the database
        waits = []
        for n in range(jobs):
            job_id = submit(api, key, {"kind": "analyze", "items": [{"text": f"Note {n} {mode}"}]})
            job = wait_job(api, key, job_id, poll=0.05)
            created = datetime.fromisoformat(job["created_at"])
            started = datetime.fromisoformat(job["started_at"])
            waits.append(1000 * (started - created).total_seconds())
    finally:
        servers.stop(worker)
    waits.sort()
    return {
        "jobs": jobs,
        "median_ms": round(statistics.median(waits), 1),
        "max_ms": round(waits[-1], 1),
        "mean_ms": round(statistics.fmean(waits), 1),
        "all_ms": [round(w, 1) for w in waits],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    stream = f"lp:jobs:bench:{uuid.uuid4().hex}"
    name = seed.random_database_name()
    database_url = seed.database_url_for(args.database_url, name)
    seed.create_database(args.database_url, name)
    logdir = Path(tempfile.mkdtemp(prefix="bench-job-queue-"))
    running: list[servers.Server] = []
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        result["message_cost"] = asyncio.run(
            message_cost(args.redis_url, args.messages, stream + ":messages")
        )
        print(f"[{time.monotonic() - started:6.1f}s] {result['message_cost']}", flush=True)

        env = server_env(
            database_url,
            {
                "LP_REDIS_URL": args.redis_url,
                "LP_JOBS_QUEUE_STREAM": stream,
                "LP_JOBS_MAX_IN_FLIGHT": "100",
            },
        )
        seed.migrate(database_url, env)
        key = seed.add_admin(database_url)
        api = servers.start_api(workers=1, env={**env, "LP_JOBS_ENABLED": "false"}, logdir=logdir)
        running.append(api)
        servers.wait_ready(api, "/v1/users/me", {"X-API-Key": key})
        modes = {
            "queue": {**env, "LP_JOBS_RESCAN_SECONDS": "600"},
            "poll": {**env, "LP_JOBS_QUEUE_ENABLED": "false", "LP_JOBS_POLL_SECONDS": "1"},
        }
        for mode, worker_env in modes.items():
            result[f"pickup_{mode}"] = pickup(api, key, worker_env, logdir, args.jobs, mode)
            print(f"[{time.monotonic() - started:6.1f}s] {mode}: {result[f'pickup_{mode}']}")
        result["log_problems"] = {s.name: s.log_problems()[:20] for s in running}
        return result
    finally:
        for server in reversed(running):
            servers.stop(server)
        seed.drop_database(args.database_url, name)
        client = redis.Redis.from_url(args.redis_url)
        client.delete(stream, stream + ":messages")
        client.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{stamp}-job_queue.json"
    path.write_text(json.dumps(result, indent=2))
    m, q, p = result["message_cost"], result["pickup_queue"], result["pickup_poll"]
    print()
    print("| measurement | figure |")
    print("|---|---|")
    print(
        f"| send one message (taskiq kick, XADD) | {m['send_wall_us']} µs wall, "
        f"{m['send_cpu_us']} µs CPU |"
    )
    print(
        f"| receive and acknowledge one (Receiver, no-op task) | "
        f"{m['receive_and_ack_wall_us']} µs wall, {m['receive_and_ack_cpu_us']} µs CPU |"
    )
    print(f"| submit to first claim, queue | median {q['median_ms']} ms, max {q['max_ms']} ms |")
    print(
        f"| submit to first claim, database poll (1 s) | median {p['median_ms']} ms, "
        f"max {p['max_ms']} ms |"
    )
    print(f"raw results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
