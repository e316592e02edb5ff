"""Bad input always gets a 4xx problem+json with a stable code, never a 500."""

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from linkedin_posts.config import Settings
from tests.conftest import Account, assert_problem
from tests.posts.conftest import POSTS, CreatePost, iso_in, post_url

SECRET = "hunter2-Correct-Horse-Battery-Staple"
JSON = {"content-type": "application/json"}


def assert_validation_problem(response: httpx.Response) -> list[dict[str, Any]]:
    """A 422 validation_error whose errors name a place, say why, and echo no input."""
    body = assert_problem(response, 422, "validation_error")
    errors: list[dict[str, Any]] = body["errors"]  # type: ignore[assignment]
    assert errors
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}, error
        assert all(isinstance(part, str | int) for part in error["loc"])
        # Union member labels would look like "function-after[...]" or "str-enum[...]".
        assert not any("[" in str(part) or "0x" in str(part) for part in error["loc"]), error
    return errors


# Create


BAD_CREATES = {
    "body-3001-graphemes": {"body": "a" * 3001},
    "body-empty": {"body": ""},
    "body-whitespace": {"body": " \n\t\u3000 "},
    "body-missing": {},
    "body-null": {"body": None},
    "body-number": {"body": 42},
    "body-list": {"body": ["x"]},
    "body-nul": {"body": "before\x00after"},
    "title-nul": {"body": "x", "title": "a\x00"},
    "title-201": {"body": "x", "title": "t" * 201},
    "campaign-empty": {"body": "x", "campaign": ""},
    "campaign-nul": {"body": "x", "campaign": "\x00"},
    "campaign-101": {"body": "x", "campaign": "c" * 101},
    "status-unknown": {"body": "x", "status": "pending"},
    "status-uppercase": {"body": "x", "status": "DRAFT"},
    "visibility-lowercase": {"body": "x", "visibility": "public"},
    "visibility-unknown": {"body": "x", "visibility": "FRIENDS"},
    "unknown-field": {"body": "x", "author": "me"},
    "tag-with-space": {"body": "x", "tags": ["a b"]},
    "tag-51-chars": {"body": "x", "tags": ["t" * 51]},
    "tag-hash-only": {"body": "x", "tags": ["#"]},
    "tag-empty": {"body": "x", "tags": [""]},
    "tag-punctuation": {"body": "x", "tags": ["c++"]},
    "tag-nul": {"body": "x", "tags": ["a\x00"]},
    "tag-not-string": {"body": "x", "tags": [1]},
    "tags-not-list": {"body": "x", "tags": "ai"},
    "tags-31": {"body": "x", "tags": [f"t{i}" for i in range(31)]},
    "scheduled-at-garbage": {"body": "x", "scheduled_at": "tomorrow"},
    "scheduled-at-naive": {"body": "x", "scheduled_at": "2099-01-01T00:00:00"},
    "scheduled-at-overflow": {"body": "x", "scheduled_at": "0001-01-01T00:00:00+01:00"},
    "scheduled-in-past": {"body": "x", "status": "scheduled", "scheduled_at": iso_in(days=-1)},
    "not-an-object": ["body", "x"],
}


@pytest.mark.parametrize("payload", BAD_CREATES.values(), ids=BAD_CREATES.keys())
async def test_bad_create_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, payload: Any
) -> None:
    response = await client.post(POSTS, json=payload, headers=account.headers)

    assert_validation_problem(response)
    assert (await client.get(POSTS, headers=account.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"body": "\\ud800"}', "body"),
        (b'{"body": "ok \\udfff ok"}', "body"),
        (b'{"body": "x", "title": "\\ud83d"}', "title"),
        (b'{"body": "x", "campaign": "\\udc00"}', "campaign"),
        (b'{"body": "x", "tags": ["\\ud800"]}', "tags"),
        (b'{"body": "x", "\\ud800": 1}', None),
    ],
)
async def test_unpaired_surrogates_are_a_validation_problem(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, raw: bytes, field: str
) -> None:
    # Valid JSON (an escaped lone surrogate) that no database can store as text.
    created = await client.post(POSTS, content=raw, headers={**account.headers, **JSON})
    post = await create_post(account)
    patched = await client.patch(
        post_url(post["id"]), content=raw, headers={**account.headers, **JSON}
    )

    for response in (created, patched):
        errors = assert_validation_problem(response)
        if field:
            assert any(field in e["loc"] for e in errors), errors
    assert (await client.get(post_url(post["id"]), headers=account.headers)).json() == post


# Update


BAD_PATCHES = {
    "body-null": {"body": None},
    "status-null": {"status": None},
    "visibility-null": {"visibility": None},
    "tags-null": {"tags": None},
    "body-3001-graphemes": {"body": "a" * 3001},
    "body-empty": {"body": ""},
    "body-whitespace": {"body": "   "},
    "body-nul": {"body": "\x00"},
    "title-nul": {"title": "\x00"},
    "status-unknown": {"status": "deleted"},
    "visibility-unknown": {"visibility": "EVERYONE"},
    "unknown-field": {"owner_id": str(uuid.uuid4())},
    "version-is-not-a-field": {"version": 7},
    "tag-with-space": {"tags": ["a b"]},
    "tag-51-chars": {"tags": ["t" * 51]},
    "tags-31": {"tags": [f"t{i}" for i in range(31)]},
    "scheduled-at-naive": {"scheduled_at": "2099-01-01T00:00:00"},
    "not-an-object": [{"body": "x"}],
}


@pytest.mark.parametrize("payload", BAD_PATCHES.values(), ids=BAD_PATCHES.keys())
async def test_bad_patch_is_a_validation_problem_and_changes_nothing(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, payload: Any
) -> None:
    post = await create_post(account, title="T", tags=["keep"])
    url = post_url(post["id"])

    response = await client.patch(url, json=payload, headers=account.headers)

    assert_validation_problem(response)
    assert (await client.get(url, headers=account.headers)).json() == post


@pytest.mark.parametrize("field", ["body", "status", "visibility", "tags"])
async def test_explicit_null_names_the_field(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, field: str
) -> None:
    post = await create_post(account)

    response = await client.patch(post_url(post["id"]), json={field: None}, headers=account.headers)

    errors = assert_validation_problem(response)
    assert any(field in e["msg"] or field in e["loc"] for e in errors), errors


async def test_a_bad_field_is_reported_once_at_its_own_place(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)

    response = await client.patch(
        post_url(post["id"]),
        json={"body": "", "status": "nope", "tags": ["a b"]},
        headers=account.headers,
    )

    errors = assert_validation_problem(response)
    assert sorted(tuple(e["loc"][:2]) for e in errors) == [
        ("body", "body"),
        ("body", "status"),
        ("body", "tags"),
    ]


# Malformed and mistyped requests


@pytest.mark.parametrize(
    "raw",
    [
        b'{"body": ',
        b"{'body': 'single quotes'}",
        b'{"body": "x"} trailing',
        b'{"body": "x",}',
        b"not json at all",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, raw: bytes, method: str
) -> None:
    url = POSTS if method == "POST" else post_url((await create_post(account))["id"])

    response = await client.request(method, url, content=raw, headers={**account.headers, **JSON})

    assert_problem(response, 400, "malformed_json")
    assert raw.decode() not in response.text


async def test_a_body_that_is_not_utf8_is_a_bad_request(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        POSTS, content=b'{"body": "\xff\xfe"}', headers={**account.headers, **JSON}
    )

    assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize("raw", [b"", b"null"])
async def test_an_empty_body_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, raw: bytes
) -> None:
    response = await client.post(POSTS, content=raw, headers={**account.headers, **JSON})

    assert_validation_problem(response)


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param(
            {"content": b'{"body": "x"}', "headers": {"content-type": "text/plain"}}, id="text"
        ),
        pytest.param({"data": {"body": "x"}}, id="form"),
        pytest.param({"files": {"body": ("a.txt", b"x")}}, id="multipart"),
        pytest.param(
            {"content": b'{"body": "x"}', "headers": {"content-type": "application/xml"}}, id="xml"
        ),
        pytest.param({"content": b'{"body": "x"}'}, id="no-content-type"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    request_kwargs: dict[str, Any],
    method: str,
) -> None:
    post = await create_post(account)
    url = POSTS if method == "POST" else post_url(post["id"])
    kwargs = {**request_kwargs}
    kwargs["headers"] = {**account.headers, **kwargs.get("headers", {})}

    response = await client.request(method, url, **kwargs)

    assert_problem(response, 415, "unsupported_media_type")
    listed = (await client.get(POSTS, headers=account.headers)).json()["items"]
    assert listed == [post]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"],
)
async def test_json_media_types_are_accepted(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, content_type: str
) -> None:
    post = await create_post(account)
    headers = {**account.headers, "content-type": content_type}

    created = await client.post(POSTS, content=b'{"body": "x"}', headers=headers)
    patched = await client.patch(post_url(post["id"]), content=b'{"body": "y"}', headers=headers)

    assert created.status_code == 201, created.text
    assert patched.status_code == 200, patched.text


# Request size


def _json_of_size(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    frame = len(b'{"body": ""}')
    return b'{"body": "' + b"a" * (size - frame) + b'"}'


async def test_a_body_at_the_size_limit_is_read(
    client: httpx.AsyncClient, account: Account, settings: Settings
) -> None:
    content = _json_of_size(settings.max_body_bytes)

    response = await client.post(POSTS, content=content, headers={**account.headers, **JSON})

    # Read and validated: too many characters for a post, but not too many bytes for a request.
    assert_validation_problem(response)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    settings: Settings,
    method: str,
) -> None:
    post = await create_post(account)
    url = POSTS if method == "POST" else post_url(post["id"])

    for size in (settings.max_body_bytes + 1, 1024 * 1024):
        response = await client.request(
            method, url, content=_json_of_size(size), headers={**account.headers, **JSON}
        )

        assert_problem(response, 413, "payload_too_large")
    assert (await client.get(POSTS, headers=account.headers)).json()["items"] == [post]


async def test_a_streamed_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient, account: Account, settings: Settings
) -> None:
    # Sent in chunks without Content-Length: the limit holds while the body streams in.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"body": "'
        for _ in range(settings.max_body_bytes // 4096 + 1):
            yield b"a" * 4096
        yield b'"}'

    response = await client.post(POSTS, content=chunks(), headers={**account.headers, **JSON})

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert (await client.get(POSTS, headers=account.headers)).json()["items"] == []


async def test_a_large_body_is_413_even_without_credentials(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        POSTS, content=_json_of_size(settings.max_body_bytes * 2), headers=JSON
    )

    assert_problem(response, 413, "payload_too_large")


# Query parameters and path


BAD_LIST_PARAMS = {
    "limit-0": {"limit": "0"},
    "limit-101": {"limit": "101"},
    "limit-negative": {"limit": "-1"},
    "limit-word": {"limit": "ten"},
    "limit-huge": {"limit": "9" * 30},
    "status-unknown": {"status": "deleted"},
    "tag-with-space": {"tag": "a b"},
    "tag-52-chars": {"tag": "t" * 52},
    "tag-empty": {"tag": ""},
    "campaign-nul": {"campaign": "a\x00"},
    "q-empty": {"q": ""},
    "q-nul": {"q": "a\x00b"},
    "q-201": {"q": "q" * 201},
    "created-after-naive": {"created_after": "2024-01-01T00:00:00"},
    "created-before-garbage": {"created_before": "last week"},
    "created-after-overflow": {"created_after": "0001-01-01T00:00:00+01:00"},
    "cursor-65-chars": {"cursor": "A" * 65},
    "unknown-parameter": {"sort": "oldest"},
}


@pytest.mark.parametrize("params", BAD_LIST_PARAMS.values(), ids=BAD_LIST_PARAMS.keys())
async def test_bad_list_parameters_are_a_validation_problem(
    client: httpx.AsyncClient, account: Account, params: dict[str, str]
) -> None:
    response = await client.get(POSTS, params=params, headers=account.headers)

    errors = assert_validation_problem(response)
    assert all(e["loc"][0] == "query" for e in errors), errors


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("xyz", id="short"),
        pytest.param(_b64(os.urandom(32)), id="random-32-bytes"),
        pytest.param(_b64(b"\x02" + uuid.uuid4().bytes), id="unknown-version"),
        pytest.param(_b64(b"\x01" + uuid.uuid4().bytes + b"\x00"), id="too-long"),
        pytest.param(_b64(b"\x01" + uuid.uuid4().bytes)[:-1], id="truncated"),
        pytest.param("!!!!", id="not-base64"),
        pytest.param("AQ==AAAA", id="padding-inside"),
        pytest.param("é" * 10, id="non-ascii"),
        pytest.param("A", id="one-char"),
    ],
)
async def test_a_cursor_this_api_did_not_write_is_400(
    client: httpx.AsyncClient, account: Account, cursor: str
) -> None:
    response = await client.get(POSTS, params={"cursor": cursor}, headers=account.headers)

    assert_problem(response, 400, "invalid_cursor")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("post_id", ["not-a-uuid", "123", "0" * 33])
async def test_a_malformed_post_id_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, method: str, post_id: str
) -> None:
    kwargs: dict[str, Any] = {"json": {"body": "x"}} if method == "PATCH" else {}

    response = await client.request(method, post_url(post_id), headers=account.headers, **kwargs)

    errors = assert_validation_problem(response)
    assert errors[0]["loc"] == ["path", "post_id"]


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
async def test_an_overlong_precondition_header_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)
    method = "GET" if header == "If-None-Match" else "DELETE"

    response = await client.request(
        method, post_url(post["id"]), headers={**account.headers, header: '"' + "1" * 300 + '"'}
    )

    assert_validation_problem(response)
    assert (await client.get(post_url(post["id"]), headers=account.headers)).status_code == 200


# Nothing sent comes back in an error


SECRET_CREATES = {
    "unknown-field": {"body": "x", "password": SECRET},
    "status": {"body": "x", "status": SECRET},
    "visibility": {"body": "x", "visibility": SECRET},
    "title-too-long": {"body": "x", "title": SECRET * 10},
    "title-nul": {"body": "x", "title": SECRET + "\x00"},
    "body-nul": {"body": SECRET + "\x00"},
    "body-too-long": {"body": SECRET * 100},
    "scheduled-at": {"body": "x", "scheduled_at": SECRET},
    "tags-not-list": {"body": "x", "tags": SECRET},
    "tag": {"body": "x", "tags": [SECRET + " !"]},
}


@pytest.mark.parametrize("payload", SECRET_CREATES.values(), ids=SECRET_CREATES.keys())
async def test_errors_do_not_echo_what_was_sent(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, payload: dict[str, Any]
) -> None:
    post = await create_post(account)
    patch = {k: v for k, v in payload.items() if k != "body" or SECRET in json.dumps(v)}

    created = await client.post(POSTS, json=payload, headers=account.headers)
    patched = await client.patch(post_url(post["id"]), json=patch, headers=account.headers)

    for response in (created, patched):
        assert_validation_problem(response)
        assert SECRET not in response.text
        assert '"input"' not in response.text
        assert '"ctx"' not in response.text


async def test_query_errors_do_not_echo_what_was_sent(
    client: httpx.AsyncClient, account: Account
) -> None:
    for params in ({"status": SECRET}, {"q": SECRET * 10}, {"created_after": SECRET}):
        response = await client.get(POSTS, params=params, headers=account.headers)

        assert_validation_problem(response)
        assert SECRET not in response.text


async def test_malformed_json_errors_do_not_echo_what_was_sent(
    client: httpx.AsyncClient, account: Account
) -> None:
    raw = ('{"body": "x", "password": "' + SECRET + '"').encode()

    response = await client.post(POSTS, content=raw, headers={**account.headers, **JSON})

    assert_problem(response, 400, "malformed_json")
    assert SECRET not in response.text
