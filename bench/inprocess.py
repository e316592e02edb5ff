"""CPU per request of the API's hot routes, with the ASGI app called in-process.

No HTTP server, no load generator: one request at a time straight into the app, against a
throwaway seeded PostgreSQL database, beside the hello-world app called the same way in the same
run. Sequential calls measure the code's own cost, which wrk on this shared 2-CPU machine cannot
separate from the noise; use it to compare changes, and `make bench` for the HTTP figures.

Run: .venv/bin/python bench/inprocess.py [--requests 3000] [--profile get_post]
"""

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import orjson
import seed
from hello import app as hello_app

from linkedin_posts.config import Settings
from linkedin_posts.main import create_app

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    query: bytes = b"",
) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(name: str, requests: int, one: Callable[[int], Awaitable[int]]) -> float:
    for i in range(min(300, requests)):  # warm-up: pools, statement caches, compiled queries
        await one(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(requests):
        status = await one(i)
        if status >= 400:
            raise SystemExit(f"{name}: HTTP {status}")
    cpu_us = (time.process_time() - cpu) / requests * 1e6
    wall_us = (time.perf_counter() - wall) / requests * 1e6
    print(f"{name:28} {cpu_us:8.0f} µs CPU/req {wall_us:8.0f} µs wall/req", flush=True)
    return cpu_us


async def run(args: argparse.Namespace, database_url: str, users: list[seed.SeededUser]) -> None:
    overrides = dict(item.split("=", 1) for item in args.set)
    settings = Settings(
        _env_file=None,
        env="production",
        database_url=database_url,
        secret_key="x" * 48,
        **overrides,
    )
    app = create_app(settings)
    rng = random.Random(1)
    picks = [(u, rng.choice(u.post_ids)) for u in rng.choices(users, k=args.requests)]

    def headers(user: seed.SeededUser, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
        return [(b"host", b"127.0.0.1"), (b"x-api-key", user.api_key.encode()), *extra]

    async def get_post(i: int) -> int:
        user, post_id = picks[i % len(picks)]
        return await call(app, "GET", f"/v1/posts/{post_id}", headers(user))

    async def list_posts(i: int) -> int:
        user, _ = picks[i % len(picks)]
        return await call(app, "GET", "/v1/posts", headers(user), query=b"limit=20")

    async def create_post(i: int) -> int:
        user, _ = picks[i % len(picks)]
        body = b'{"body": "Benchmark post in-process", "tags": ["a", "b", "c"]}'
        json_type = (b"content-type", b"application/json")
        return await call(app, "POST", "/v1/posts", headers(user, json_type), body=body)

    # Every request a text never analysed (a fresh corpus seed each run): the request's path
    # around an analysis. cProfile sees only this thread, not the analysis pool's.
    each = args.requests + 300  # with the warm-up
    texts = [p.text for p in corpus.posts(2 * each, seed=time.time_ns() % 2**53)]
    fresh, others = iter(texts[:each]), iter(texts[each:])

    async def analyze_unique(i: int) -> int:
        user, _ = picks[i % len(picks)]
        body = orjson.dumps({"text": next(fresh)})
        json_type = (b"content-type", b"application/json")
        return await call(app, "POST", "/v1/analyze", headers(user, json_type), body=body)

    async def analysis_alone(_i: int) -> int:
        """The analysis of such a text, called directly: what analyze_unique adds is the path."""
        app.state.analysis.analyzer.analyze(next(others), None)
        return 200

    async def hello(_i: int) -> int:
        return await call(hello_app, "GET", "/", [(b"host", b"127.0.0.1")])

    scenarios = {
        "get_post": get_post,
        "list_posts": list_posts,
        "create_post": create_post,
        "analyze_unique": analyze_unique,
        "analysis_alone": analysis_alone,
    }
    async with app.router.lifespan_context(app):
        baseline = await measure("hello-world GET /", args.requests, hello)
        for name in args.scenarios:
            if args.profile == name:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                await measure(name, args.requests, scenarios[name])
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats(args.sort)
                stats.print_stats(*([args.profile_filter] if args.profile_filter else [45]))
                continue
            cost = await measure(name, args.requests, scenarios[name])
            print(f"{'':28} {baseline / cost:8.1%} of hello-world's requests per CPU-second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--server-url", default=SERVER_URL)
    parser.add_argument("--scenarios", nargs="+", default=["get_post", "list_posts", "create_post"])
    parser.add_argument("--profile", help="print a cProfile of this scenario")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--profile-filter", help="print only the profile lines matching this")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the app, e.g. db_pool_pre_ping=false",
    )
    args = parser.parse_args()
    name = seed.random_database_name()
    seed.create_database(args.server_url, name)
    try:
        database_url = seed.database_url_for(args.server_url, name)
        seed.migrate(database_url, seed.clean_env())
        users = seed.seed(database_url, users=20, posts_per_user=100).users
        # The event loop `linkedin-posts serve` runs on.
        uvloop.run(run(args, database_url, users))
    finally:
        seed.drop_database(args.server_url, name)


if __name__ == "__main__":
    main()
