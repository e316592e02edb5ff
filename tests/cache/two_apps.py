"""Helpers for the cache's integration tests: two API processes on one database and one Redis.

Each app has its own L1 (memory), engine and Redis clients, as two `serve` processes would; they
meet only in the database and in Redis.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from linkedin_posts.reader import Reader, ReadQuery, Row
from tests.conftest import REDIS_URL, Account, serving

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs LP_TEST_REDIS_URL")

POSTS = "/v1/posts"
# The tests send hundreds of requests per user within a minute, and many at once: limits and
# load shedding stay out of the way (their own tests cover them).
ROOMY: dict[str, object] = {
    "ratelimit_read": "1000000/minute",
    "ratelimit_write": "1000000/minute",
    "ratelimit_auth": "1000000/minute",
    "max_in_flight": 10_000,
}


def post_url(post_id: str) -> str:
    return f"{POSTS}/{post_id}"


class CountingReader:
    """The app's reader, noting the SQL of each statement it runs."""

    def __init__(self, inner: Reader) -> None:
        self.inner = inner
        self.statements: list[str] = []

    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        self.statements.append(query.sql)
        return await self.inner.one(query, **params)

    async def close(self) -> None:
        await self.inner.close()

    def post_reads(self) -> int:
        return sum("FROM posts" in sql for sql in self.statements)


@dataclass
class Node:
    """One app (an API process) and a client of it."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient
    reader: CountingReader | None = None

    def count_reads(self) -> CountingReader:
        self.reader = CountingReader(self.app.state.reader)
        self.app.state.reader = self.reader
        return self.reader

    async def get(self, url: str, account: Account, **headers: str) -> httpx.Response:
        return await self.client.get(url, headers={**account.headers, **headers})

    async def create_post(
        self, account: Account, body: str = "A post about work"
    ) -> dict[str, Any]:
        response = await self.client.post(POSTS, json={"body": body}, headers=account.headers)
        assert response.status_code == 201, response.text
        post: dict[str, Any] = response.json()
        return post

    async def patch_post(self, account: Account, post_id: str, body: str) -> dict[str, Any]:
        response = await self.client.patch(
            post_url(post_id), json={"body": body}, headers=account.headers
        )
        assert response.status_code == 200, response.text
        post: dict[str, Any] = response.json()
        return post


async def cached_on(node: Node, account: Account, url: str) -> httpx.Response:
    """Read until the answer comes from this app's memory, and return that answer."""
    for _ in range(3):
        response = await node.get(url, account)
        assert response.status_code == 200, response.text
        if response.headers["X-Cache"] == "HIT-L1":
            return response
    raise AssertionError(f"{url} never came from {node.name}'s memory: {response.headers}")


@asynccontextmanager
async def two_apps(
    settings: Settings, other: Settings | None = None
) -> AsyncIterator[tuple[Node, Node]]:
    """Two started apps (the second with `other` settings if given); tables emptied at the end."""
    first, second = create_app(settings), create_app(other or settings)
    async with serving(first) as client_a, serving(second) as client_b:
        yield Node("A", first, client_a), Node("B", second, client_b)
