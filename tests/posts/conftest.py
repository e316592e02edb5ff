"""Helpers for the posts tests: posts made through the API, a second app on the same database."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Account

POSTS = "/v1/posts"

CreatePost = Callable[..., Awaitable[dict[str, Any]]]


def post_url(post_id: str) -> str:
    return f"{POSTS}/{post_id}"


def iso_in(**delta: float) -> str:
    """An ISO 8601 UTC timestamp this far from now (negative for the past)."""
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no offset"
    return parsed


@pytest.fixture
def create_post(client: httpx.AsyncClient) -> CreatePost:
    """Create a post through the API as `account` and return its JSON."""

    async def create(account: Account, **fields: Any) -> dict[str, Any]:
        response = await client.post(
            POSTS, json={"body": "A post about work"} | fields, headers=account.headers
        )
        assert response.status_code == 201, response.text
        post: dict[str, Any] = response.json()
        return post

    return create


async def walk(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
    *,
    max_pages: int = 1000,
) -> list[dict[str, Any]]:
    """Follow next_cursor from the first page to the last and return every item in order."""
    items: list[dict[str, Any]] = []
    query = dict(params or {})
    for _ in range(max_pages):
        response = await client.get(POSTS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]
    raise AssertionError(f"pagination did not end after {max_pages} pages")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]
