"""The front door: a cached GET /v1/posts/{id} answered before FastAPI, with nothing skipped.

A hit must look to the client exactly like the slow path's answer (body, ETag, 304, headers),
still be limited, logged and counted, and must never serve a credential the slow path would
refuse: another user's post, an expired token, a revoked key.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from linkedin_posts.main import create_app
from linkedin_posts.posts import service
from tests.conftest import (
    PASSWORD,
    Account,
    assert_problem,
    make_settings,
    open_account,
    serving,
)
from tests.posts.conftest import POSTS, CreatePost, post_url
from tests.ratelimit.conftest import hold_the_clock


async def new_post(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.post(POSTS, json={"body": "A post about work"}, headers=account.headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


@pytest.fixture
def create_post(client: httpx.AsyncClient) -> CreatePost:
    async def create(account: Account) -> dict[str, Any]:
        return await new_post(client, account)

    return create


@pytest.fixture
def slow_path_reads(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Post ids the FastAPI route was asked for: the front door never calls it."""
    calls: list[uuid.UUID] = []
    original = service.read_encoded

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["post_id"])
        return await original(*args, **kwargs)

    monkeypatch.setattr(service, "read_encoded", counting)
    return calls


async def api_key_of(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    created = await client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


def requests_counted(status: str) -> float:
    labels = {"method": "GET", "route": "/v1/posts/{post_id}", "status": status}
    return REGISTRY.get_sample_value("lp_http_requests_total", labels) or 0.0


Headers = Callable[[httpx.AsyncClient, Account], Awaitable[dict[str, str]]]


async def bearer(_client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    return account.headers


@pytest.mark.parametrize("credential", [bearer, api_key_of], ids=["jwt", "api-key"])
async def test_a_warm_read_skips_fastapi_and_answers_the_same(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    slow_path_reads: list[uuid.UUID],
    credential: Headers,
) -> None:
    headers = await credential(client, account)
    post = await create_post(account)
    url = post_url(post["id"])

    cold = await client.get(url, headers=headers)
    before = requests_counted("200")
    warm = [await client.get(url, headers=headers) for _ in range(3)]

    assert slow_path_reads == [uuid.UUID(post["id"])]
    assert cold.headers["X-Cache"] == "MISS"
    for answer in warm:
        assert answer.status_code == 200
        assert answer.json() == cold.json() == post
        assert answer.headers["X-Cache"] == "HIT-L1"
        assert answer.headers["ETag"] == cold.headers["ETag"] == '"1"'
        assert answer.headers["Cache-Control"] == "private, no-cache"
        assert answer.headers["content-type"] == "application/json"
        # The other middleware still ran: request id, security headers, rate-limit headers.
        assert answer.headers["X-Request-ID"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert int(answer.headers["RateLimit-Remaining"]) < int(answer.headers["RateLimit-Limit"])
        # No header more or less than the stack's answer (a small body: no Vary, as there).
        assert set(answer.headers) == set(cold.headers)
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in warm]
    assert remaining == sorted(remaining, reverse=True)
    assert len(set(remaining)) == 3
    # Counted under the route template, like any request.
    assert requests_counted("200") == before + 3


async def test_if_none_match_gets_a_304_from_memory(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    slow_path_reads: list[uuid.UUID],
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    await client.get(url, headers=account.headers)

    same = await client.get(url, headers={**account.headers, "If-None-Match": '"1"'})
    other = await client.get(url, headers={**account.headers, "If-None-Match": 'W/"7", "8"'})

    assert len(slow_path_reads) == 1
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["ETag"] == '"1"'
    assert same.headers["X-Cache"] == "HIT-L1"
    assert other.status_code == 200
    assert other.json() == post


async def test_another_users_post_is_404_even_when_the_owner_warmed_it(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    assert (await client.get(url, headers=account.headers)).status_code == 200
    stranger = await open_account(client)

    for _ in range(2):
        assert_problem(await client.get(url, headers=stranger.headers), 404, "post_not_found")


async def test_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    created = await client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)
    key, key_id = created.json()["key"], created.json()["id"]
    post = await create_post(account)
    url = post_url(post["id"])
    assert (await client.get(url, headers={"X-API-Key": key})).headers["X-Cache"] == "MISS"
    assert (await client.get(url, headers={"X-API-Key": key})).headers["X-Cache"] == "HIT-L1"

    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=account.headers)

    assert revoked.status_code == 204
    assert_problem(await client.get(url, headers={"X-API-Key": key}), 401, "invalid_token")


async def test_an_expired_token_is_refused_though_it_was_verified_before(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    for _ in range(2):
        assert (await client.get(url, headers=account.headers)).status_code == 200
    # An hour and a minute later, past the token's expiry (LP_ACCESS_TOKEN_TTL_SECONDS=3600),
    # for the remembered verification and for PyJWT alike.
    tokens = app.state.verified_tokens.memory
    real_clock = tokens.clock
    monkeypatch.setattr(tokens, "clock", lambda: real_clock() + 3660)

    def expired(*_args: object, **_kwargs: object) -> None:
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)

    assert_problem(await client.get(url, headers=account.headers), 401, "invalid_token")


async def test_a_deleted_account_loses_access_at_once(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    key_headers = await api_key_of(client, account)
    post = await create_post(account)
    url = post_url(post["id"])
    for headers in (account.headers, key_headers, account.headers, key_headers):
        assert (await client.get(url, headers=headers)).status_code == 200

    deleted = await client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=account.headers
    )

    assert deleted.status_code == 204
    assert_problem(await client.get(url, headers=account.headers), 401, "invalid_token")
    assert_problem(await client.get(url, headers=key_headers), 401, "invalid_token")


async def test_hits_still_run_out_of_rate_limit(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, ratelimit_read="3/minute"))
    async with serving(app) as client:
        hold_the_clock(app)
        account = await open_account(client)
        post = await new_post(client, account)
        url = post_url(post["id"])

        answers = [await client.get(url, headers=account.headers) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("X-Cache") for a in answers[:3]] == ["MISS", "HIT-L1", "HIT-L1"]
    body = assert_problem(answers[3], 429, "rate_limited")
    assert body["route_class"] == "read"
    assert answers[3].headers["Retry-After"]


async def test_a_hit_refuses_what_the_route_refuses(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    await client.get(url, headers=account.headers)

    too_long = await client.get(url, headers={**account.headers, "If-None-Match": "0" * 257})

    assert_problem(too_long, 422, "validation_error")


@pytest.mark.parametrize(
    "accept_encoding", [None, "identity", "gzip", "br", "zstd", "gzip;q=0, br", "*"]
)
async def test_a_hit_is_compressed_as_the_stack_would(
    client: httpx.AsyncClient,
    account: Account,
    slow_path_reads: list[uuid.UUID],
    accept_encoding: str | None,
) -> None:
    long = await client.post(
        POSTS, json={"body": "Lessons from a launch. " * 40}, headers=account.headers
    )
    url = post_url(long.json()["id"])
    # httpx sends "gzip, deflate, br, zstd" unless told otherwise.
    headers = {**account.headers, "Accept-Encoding": accept_encoding or ""}

    stack = await client.get(url, headers=headers)
    door = await client.get(url, headers=headers)

    assert len(slow_path_reads) == 1
    assert (stack.headers["X-Cache"], door.headers["X-Cache"]) == ("MISS", "HIT-L1")
    assert door.json() == stack.json() == long.json()
    for name in ("content-encoding", "vary", "content-type", "etag", "cache-control"):
        assert door.headers.get(name) == stack.headers.get(name), name
    assert set(door.headers) == set(stack.headers)
