"""Cached reads answered by the HTTP server itself (server_protocol.py, front_door.answer_now).

On a real uvicorn server with `linkedin-posts serve`'s protocol, in a thread; clients speak
HTTP/1.1 over loopback. Each answer the server writes is compared with the one the app gives
for the same request when the server leaves it to the app (`answer_now` switched off): same
status, header names and values (but the per-request ones), body. What the server must not
answer (a refusal, a request with a body, a cold identity whose limit is in Redis) reaches the
app, and every admission is counted once.
"""

import asyncio
import gzip
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httptools
import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from linkedin_posts import http1
from linkedin_posts.cache.front_door import CachedReadFrontDoor
from linkedin_posts.main import create_app
from linkedin_posts.ratelimit.dependencies import principal_identity
from tests.conftest import REDIS_URL, assert_problem, make_settings, truncate
from tests.protection.test_server_shedding import Answer, Connection, get, held_post, running
from tests.ratelimit.conftest import a_window_that_lasts

PASSWORD = "correct horse battery staple"
# Different in every answer, by design.
PER_REQUEST = {"x-request-id", "x-process-time", "date", "ratelimit-remaining", "ratelimit-reset"}


@dataclass
class Server:
    app: FastAPI
    client: httpx.Client
    port: int
    # What answer_now returned for each request it was asked about: bytes, or None.
    answered: list[bool] = field(default_factory=list)
    left_to_the_app: bool = False


@contextmanager
def serving(database_url: str, **overrides: Any) -> Iterator[Server]:
    app = create_app(make_settings(database_url, **overrides))
    door = app.front_door  # type: ignore[attr-defined]
    assert isinstance(door, CachedReadFrontDoor)
    server: Server | None = None
    answer_now = door.answer_now

    def spied(*args: Any, **kwargs: Any) -> bytes | None:
        assert server is not None
        answer = None if server.left_to_the_app else answer_now(*args, **kwargs)
        server.answered.append(answer is not None)
        return answer

    door.answer_now = spied  # type: ignore[method-assign]
    with running(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        server = Server(app, client, port)
        yield server


@pytest.fixture
async def database(migrated_url: str) -> Any:
    yield migrated_url
    engine = create_async_engine(migrated_url)
    try:
        await truncate(engine)
    finally:
        await engine.dispose()


def account_with_key(client: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
    """A new user's bearer headers and the headers of an API key of theirs."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    created = client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    key = client.post("/v1/api-keys", json={"name": "ci"}, headers=bearer)
    assert key.status_code == 201, key.text
    return bearer, {"X-API-Key": key.json()["key"]}


def key_identity(client: httpx.Client, bearer: dict[str, str]) -> str:
    """What the rate limiter counts the user's only API key as."""
    (key,) = client.get("/v1/api-keys", headers=bearer).json()["items"]
    return principal_identity(None, key["id"])


def new_post(client: httpx.Client, headers: dict[str, str], body: str = "A post about work") -> str:
    created = client.post("/v1/posts", json={"body": body}, headers=headers)
    assert created.status_code == 201, created.text
    post_id: str = created.json()["id"]
    return post_id


class Answers:
    """httptools callbacks: each answer of a connection, however the reads cut them."""

    def __init__(self) -> None:
        self.done: list[Answer] = []
        self.current = Answer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.on_header(name, value)

    def on_body(self, body: bytes) -> None:
        self.current.on_body(body)

    def on_message_complete(self) -> None:
        self.done.append(self.current)
        self.current = Answer()


def answers(connection: Connection, count: int) -> list[Answer]:
    """The next `count` answers on a connection, pipelined ones included."""
    found = Answers()
    parser = httptools.HttpResponseParser(found)
    while len(found.done) < count:
        data = connection.sock.recv(65536)
        assert data, "the server closed the connection"
        parser.feed_data(data)
    return found.done


def same_answer(by_server: httpx.Response, by_app: httpx.Response) -> None:
    assert by_server.status_code == by_app.status_code
    assert set(by_server.headers) == set(by_app.headers)
    for name in set(by_app.headers) - PER_REQUEST:
        assert by_server.headers[name] == by_app.headers[name], name
    assert by_server.content == by_app.content


def requests_counted(status: str) -> float:
    labels = {"method": "GET", "route": "/v1/posts/{post_id}", "status": status}
    return REGISTRY.get_sample_value("lp_http_requests_total", labels) or 0.0


@pytest.mark.parametrize("credential", ["bearer", "api-key"])
async def test_the_server_answers_a_cached_read_as_the_app_would(
    database: str, credential: str
) -> None:
    with serving(database) as server:
        bearer, key = account_with_key(server.client)
        headers = bearer if credential == "bearer" else key
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        cold = server.client.get(url, headers=headers)
        assert cold.headers["X-Cache"] == "MISS"
        counted = requests_counted("200")

        by_server = server.client.get(url, headers=headers)
        server.left_to_the_app = True
        by_app = server.client.get(url, headers=headers)

        assert server.answered[-2:] == [True, False]
        assert by_server.headers["X-Cache"] == by_app.headers["X-Cache"] == "HIT-L1"
        same_answer(by_server, by_app)
        assert by_server.json()["id"] == cold.json()["id"]
        # Both counted once against the caller's limit, and in the request metrics.
        remaining = [int(r.headers["RateLimit-Remaining"]) for r in (cold, by_server, by_app)]
        assert remaining == [remaining[0], remaining[0] - 1, remaining[0] - 2]
        assert requests_counted("200") == counted + 2
        assert by_server.headers["X-Request-ID"] != by_app.headers["X-Request-ID"]


async def test_304_and_each_content_coding_as_the_app_would(database: str) -> None:
    with serving(database) as server:
        bearer, _ = account_with_key(server.client)
        long_body = "A long post about work, hiring and teams. " * 40  # over the 500-byte minimum
        url = f"/v1/posts/{new_post(server.client, bearer, long_body)}"
        etag = server.client.get(url, headers=bearer).headers["ETag"]
        cases: list[dict[str, str]] = [
            {"If-None-Match": etag},
            {"Accept-Encoding": "gzip"},
            {"Accept-Encoding": "br"},
            {"Accept-Encoding": "zstd"},
            {"Accept-Encoding": "identity"},
        ]
        for extra in cases:
            server.left_to_the_app = False
            by_server = server.client.get(url, headers={**bearer, **extra})
            server.left_to_the_app = True
            by_app = server.client.get(url, headers={**bearer, **extra})
            assert server.answered[-2:] == [True, False], extra
            same_answer(by_server, by_app)
        assert by_server.json()["body"] == long_body
        not_modified = server.client.get(url, headers={**bearer, "If-None-Match": etag})
        assert (not_modified.status_code, not_modified.content) == (304, b"")
        raw = server.client.get(url, headers={**bearer, "Accept-Encoding": "gzip"})
        assert raw.headers["Content-Encoding"] == "gzip"
        assert raw.headers["Vary"] == "Accept-Encoding"
        assert orjson.loads(raw.content)["body"] == long_body  # httpx decoded it
        with httpx.stream(
            "GET",
            f"http://127.0.0.1:{server.port}{url}",
            headers={**bearer, "Accept-Encoding": "gzip"},
        ) as stream:
            compressed = b"".join(stream.iter_raw())
        assert orjson.loads(gzip.decompress(compressed))["body"] == long_body


async def test_pipelined_reads_come_back_in_order_and_close_is_honoured(database: str) -> None:
    with serving(database) as server:
        bearer, key = account_with_key(server.client)
        urls = [f"/v1/posts/{new_post(server.client, bearer, f'post {n}')}" for n in range(3)]
        for url in urls:
            assert server.client.get(url, headers=key).status_code == 200
        auth = f"X-API-Key: {key['X-API-Key']}\r\n"
        connection = Connection(server.port)
        connection.send(b"".join(get(url, auth) for url in urls))
        bodies = [orjson.loads(answer.body)["body"] for answer in answers(connection, 3)]
        assert bodies == ["post 0", "post 1", "post 2"]

        connection.send(get(urls[0], auth + "Connection: close\r\n"))
        last = connection.answer()
        assert (last.status, last.headers["connection"]) == (200, "close")
        assert connection.sock.recv(1) == b""  # the server closed it
        connection.close()
        assert server.answered[-4:] == [True] * 4


async def test_at_the_in_flight_cap_cached_reads_are_answered_and_the_rest_refused(
    database: str,
) -> None:
    """A read answered from memory takes no slot: refusing it would free none."""
    with serving(database, max_in_flight=2) as server:
        bearer, key = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        assert server.client.get(url, headers=key).status_code == 200  # now in memory
        auth = f"X-API-Key: {key['X-API-Key']}\r\n"
        holders = [Connection(server.port) for _ in range(2)]
        body = b'{"body": "Held up"}'
        json_auth = auth + "Content-Type: application/json\r\n"
        for holder in holders:  # in the app, waiting for their bodies: the cap is reached
            holder.send(held_post("/v1/posts", len(body), json_auth))
        deadline = time.monotonic() + 10
        while server.app.state.in_flight.count < 2:  # the server runs in a thread
            assert time.monotonic() < deadline, "the held requests never reached the app"
            await asyncio.sleep(0.01)

        caller = Connection(server.port)
        caller.send(get(url, auth))
        cached = caller.answer()
        caller.send(get("/v1/posts", auth))  # a list: the app's to answer
        refused = caller.answer()

        assert (cached.status, cached.headers["x-cache"]) == (200, "HIT-L1")
        assert server.answered[-2:] == [True, False]  # the list was left to the app
        assert refused.status == 503
        assert orjson.loads(refused.body)["code"] == "overloaded"
        for holder in holders:
            holder.send(body)
            assert holder.answer().status == 201
        for connection in [*holders, caller]:
            connection.close()


async def test_what_the_server_leaves_to_the_app(database: str) -> None:
    with serving(database, cors_origins=["https://app.example"]) as server:
        bearer, key = account_with_key(server.client)
        other_bearer, _ = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        assert server.client.get(url, headers=bearer).status_code == 200
        asked = len(server.answered)

        # Another user's post: not found in their entries, so the route's 404.
        assert_problem(server.client.get(url, headers=other_bearer), 404, "post_not_found")
        # A query string, a body, an Origin (CORS headers are the stack's): the app answers.
        assert server.client.get(url, headers=bearer, params={"x": "1"}).status_code == 200
        with_body = server.client.request("GET", url, headers=bearer, content=b"{}")
        assert with_body.status_code == 200
        cors = server.client.get(url, headers={**bearer, "Origin": "https://app.example"})
        assert cors.headers["Access-Control-Allow-Origin"] == "https://app.example"
        # A revoked key is refused at once, by the route.
        revoked_id = server.client.get("/v1/api-keys", headers=bearer).json()["items"][0]["id"]
        assert server.client.get(url, headers=key).status_code == 200
        deleted = server.client.delete(f"/v1/api-keys/{revoked_id}", headers=bearer)
        assert deleted.status_code == 204
        assert_problem(server.client.get(url, headers=key), 401, "invalid_token")

        assert not any(server.answered[asked:])


async def test_the_limit_is_counted_once_whoever_answers(database: str) -> None:
    """The embedded shape: the server admits up to the limit, and the app answers the 429."""
    with serving(database, ratelimit_read="5/minute") as server:
        bearer, key = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        await a_window_that_lasts(10, "5/minute", "read", key_identity(server.client, bearer))
        asked = len(server.answered)
        statuses = [server.client.get(url, headers=key).status_code for _ in range(7)]

        assert statuses == [200] * 5 + [429] * 2
        # The first was a miss (the app), the next four the server's; the 429s the app's.
        assert server.answered[asked:] == [False, True, True, True, True, False, False]
        refused = server.client.get(url, headers=key)
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.skipif(not REDIS_URL, reason="needs LP_TEST_REDIS_URL")
async def test_with_redis_the_server_spends_only_what_the_shared_counter_granted(
    database: str,
) -> None:
    # A quota large enough to be taken in batches (ratelimit/reservations.py: smaller ones go to
    # Redis request by request, so the server never answers them), in a window the run does not
    # outlast; and a Redis timeout no busy machine reaches, as a timeout would fall back to this
    # process's own count (the documented fail-open) and admit more.
    with serving(
        database,
        redis_url=REDIS_URL,
        redis_timeout_seconds=10,
        ratelimit_read="600/hour",
        ratelimit_auth="100000/minute",
    ) as server:
        bearer, key = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        await a_window_that_lasts(60, "600/hour", "read", key_identity(server.client, bearer))
        asked = len(server.answered)
        statuses = [server.client.get(url, headers=key).status_code for _ in range(650)]

        assert statuses.count(200) == 600
        assert statuses[600:] == [429] * 50
        # Cold, the identity's requests go to the app (Redis); hot, some come from the tokens
        # its batches reserved.
        assert server.answered[asked] is False
        assert any(server.answered[asked:])


async def test_a_failure_in_the_server_answer_is_left_to_the_app(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(database) as server:
        bearer, _ = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        assert server.client.get(url, headers=bearer).status_code == 200

        def broken(*_args: Any, **_kwargs: Any) -> bytes:
            raise RuntimeError("a bug in writing the answer")

        monkeypatch.setattr(http1, "answer", broken)  # used by the server's answers only
        answer = server.client.get(url, headers=bearer)
        monkeypatch.undo()

        assert (answer.status_code, answer.headers["X-Cache"]) == (200, "HIT-L1")
        assert server.client.get(url, headers=bearer).status_code == 200
        assert server.answered[-1] is True


async def test_the_server_answer_is_logged_as_the_apps_with_its_request_id(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(database, log_format="json") as server:
        bearer, key = account_with_key(server.client)
        url = f"/v1/posts/{new_post(server.client, bearer)}"
        assert server.client.get(url, headers=key).status_code == 200
        capsys.readouterr()

        echoed = server.client.get(url, headers={**key, "X-Request-ID": "req-7.a"})
        generated = server.client.get(url, headers=key)

        assert server.answered[-2:] == [True, True]
        assert echoed.headers["X-Request-ID"] == "req-7.a"
        captured = capsys.readouterr().err.splitlines()
        lines = [orjson.loads(line) for line in captured if line.startswith("{")]
        access = [line for line in lines if line.get("logger") == "linkedin_posts.access"]
        assert [line["request_id"] for line in access] == [
            "req-7.a",
            generated.headers["X-Request-ID"],
        ]
        for line in access:
            assert line["route"] == "/v1/posts/{post_id}"
            assert (line["status"], line["cache"], line["method"]) == (200, "HIT-L1", "GET")
            assert line["api_key_id"] is not None
            assert line["user_id"] is not None
