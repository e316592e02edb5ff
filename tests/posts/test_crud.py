"""One post's life: create, read, change, delete, with ETags and conditional requests."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from tests.conftest import Account, assert_problem, make_settings
from tests.posts.conftest import POSTS, CreatePost, iso_in, parse_time, post_url

THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone modifier: 2 code points
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # ZWJ sequence: 7 code points
E_ACUTE_COMBINING = "e\u0301"  # e + combining acute accent: 2 code points


# Create


async def test_create_answers_201_with_location_etag_and_defaults(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(POSTS, json={"body": "Hello LinkedIn"}, headers=account.headers)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    post = response.json()
    assert uuid.UUID(post["id"])
    assert response.headers["location"] == f"/v1/posts/{post['id']}"
    assert response.headers["etag"] == '"1"'
    assert post["body"] == "Hello LinkedIn"
    assert post["title"] is None
    assert post["status"] == "draft"
    assert post["visibility"] == "PUBLIC"
    assert post["campaign"] is None
    assert post["tags"] == []
    assert post["scheduled_at"] is None
    assert post["version"] == 1
    created_at, updated_at = parse_time(post["created_at"]), parse_time(post["updated_at"])
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=5)
    assert updated_at >= created_at


async def test_create_with_every_field(client: httpx.AsyncClient, account: Account) -> None:
    # Sent with a +02:00 offset, answered in UTC: the same instant.
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    sent = when.astimezone(timezone(timedelta(hours=2))).isoformat()
    payload = {
        "body": "Launching our new product today.",
        "title": "Launch",
        "status": "scheduled",
        "visibility": "CONNECTIONS",
        "campaign": "spring-launch",
        "tags": ["product", "launch"],
        "scheduled_at": sent,
    }

    response = await client.post(POSTS, json=payload, headers=account.headers)

    assert response.status_code == 201, response.text
    post = response.json()
    assert {k: post[k] for k in ("body", "title", "status", "visibility", "campaign", "tags")} == {
        k: payload[k] for k in ("body", "title", "status", "visibility", "campaign", "tags")
    }
    assert parse_time(post["scheduled_at"]) == when
    assert parse_time(post["scheduled_at"]).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (["#AI", "ai", "Tech"], ["ai", "tech"]),
        ([" #Growth ", "growth-hacking", "B2B_sales"], ["growth", "growth-hacking", "b2b_sales"]),
        (["#Café", "CAFÉ"], ["café"]),
        (["#" + "x" * 50], ["x" * 50]),
        ([], []),
    ],
)
async def test_tags_are_normalized(
    client: httpx.AsyncClient, account: Account, sent: list[str], stored: list[str]
) -> None:
    response = await client.post(POSTS, json={"body": "x", "tags": sent}, headers=account.headers)

    assert response.status_code == 201, response.text
    assert response.json()["tags"] == stored
    read = await client.get(response.headers["location"], headers=account.headers)
    assert read.json()["tags"] == stored


async def test_thirty_tags_are_accepted(client: httpx.AsyncClient, account: Account) -> None:
    tags = [f"tag{i}" for i in range(30)]

    response = await client.post(POSTS, json={"body": "x", "tags": tags}, headers=account.headers)

    assert response.status_code == 201, response.text
    assert response.json()["tags"] == tags


# Read


async def test_read_returns_what_create_returned(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = await client.post(
        POSTS, json={"body": "Read me", "title": "T", "tags": ["a"]}, headers=account.headers
    )

    read = await client.get(created.headers["location"], headers=account.headers)

    assert read.status_code == 200
    assert read.json() == created.json()
    assert read.headers["etag"] == '"1"'


async def test_reading_an_unknown_post_is_not_found(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get(post_url(str(uuid.uuid4())), headers=account.headers)

    body = assert_problem(response, 404, "post_not_found")
    assert body["instance"] == response.request.url.path


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_posts_need_authentication(client: httpx.AsyncClient, method: str) -> None:
    kwargs: dict[str, Any] = {"json": {"body": "x"}} if method == "PATCH" else {}

    response = await client.request(method, post_url(str(uuid.uuid4())), **kwargs)

    assert_problem(response, 401, "not_authenticated")


# Update


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(
        account,
        body="Original body",
        title="Original title",
        visibility="CONNECTIONS",
        campaign="q3",
        tags=["one", "two"],
        scheduled_at=iso_in(days=3),
    )

    response = await client.patch(
        post_url(post["id"]), json={"title": "New title"}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["title"] == "New title"
    untouched = ("id", "body", "status", "visibility", "campaign", "tags", "scheduled_at")
    assert {k: changed[k] for k in untouched} == {k: post[k] for k in untouched}
    assert changed["created_at"] == post["created_at"]
    read = await client.get(post_url(post["id"]), headers=account.headers)
    assert read.json() == changed


async def test_patch_can_change_every_field(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    when = iso_in(days=1)
    changes = {
        "body": "New body",
        "title": "New title",
        "status": "scheduled",
        "visibility": "LOGGED_IN",
        "campaign": "autumn",
        "tags": ["#News", "news", "Today"],
        "scheduled_at": when,
    }

    response = await client.patch(post_url(post["id"]), json=changes, headers=account.headers)

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["tags"] == ["news", "today"]
    assert parse_time(changed["scheduled_at"]) == parse_time(when)
    for name in ("body", "title", "status", "visibility", "campaign"):
        assert changed[name] == changes[name]


async def test_patch_null_clears_title_campaign_and_scheduled_at(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account, title="T", campaign="c", scheduled_at=iso_in(days=3))

    response = await client.patch(
        post_url(post["id"]),
        json={"title": None, "campaign": None, "scheduled_at": None},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["title"], changed["campaign"], changed["scheduled_at"]) == (None, None, None)
    assert changed["body"] == post["body"]
    read = await client.get(post_url(post["id"]), headers=account.headers)
    assert read.json() == changed


async def test_every_change_moves_version_etag_and_updated_at(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    previous = post

    for version in (2, 3, 4):
        response = await client.patch(
            post_url(post["id"]), json={"body": f"Edit {version}"}, headers=account.headers
        )

        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["version"] == version
        assert response.headers["etag"] == f'"{version}"'
        assert parse_time(changed["updated_at"]) > parse_time(previous["updated_at"])
        assert changed["created_at"] == post["created_at"]
        previous = changed

    read = await client.get(post_url(post["id"]), headers=account.headers)
    assert read.headers["etag"] == '"4"'
    assert read.json() == previous


async def test_an_empty_patch_changes_nothing(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)

    response = await client.patch(post_url(post["id"]), json={}, headers=account.headers)

    assert response.status_code == 200, response.text
    assert response.json() == post
    assert response.headers["etag"] == '"1"'


async def test_patching_an_unknown_post_is_not_found(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.patch(
        post_url(str(uuid.uuid4())), json={"body": "x"}, headers=account.headers
    )

    assert_problem(response, 404, "post_not_found")


# Delete


async def test_delete_answers_204_then_the_post_is_gone(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account, tags=["gone"])
    url = post_url(post["id"])

    response = await client.delete(url, headers=account.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(url, headers=account.headers), 404, "post_not_found")
    assert_problem(
        await client.patch(url, json={"body": "x"}, headers=account.headers), 404, "post_not_found"
    )
    assert_problem(await client.delete(url, headers=account.headers), 404, "post_not_found")
    for params in ({}, {"tag": "gone"}):
        listed = await client.get(POSTS, params=params, headers=account.headers)
        assert listed.json() == {"items": [], "next_cursor": None}


async def test_deleting_one_post_leaves_the_others(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    keep = await create_post(account, body="keep", tags=["t"])
    drop = await create_post(account, body="drop", tags=["t"])

    assert (await client.delete(post_url(drop["id"]), headers=account.headers)).status_code == 204

    read = await client.get(post_url(keep["id"]), headers=account.headers)
    assert read.json() == keep
    listed = await client.get(POSTS, params={"tag": "t"}, headers=account.headers)
    assert [p["id"] for p in listed.json()["items"]] == [keep["id"]]


# Conditional requests


@pytest.mark.parametrize("header", ['"1"', 'W/"1"', "*", '"7", "1"', ' "1" '])
async def test_if_none_match_current_is_304_without_body(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)

    response = await client.get(
        post_url(post["id"]), headers={**account.headers, "If-None-Match": header}
    )

    assert response.status_code == 304
    assert response.headers["etag"] == '"1"'
    assert response.content == b""


@pytest.mark.parametrize("header", ['"2"', '"0"', 'W/"2"', '"abc"'])
async def test_if_none_match_other_version_is_200(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)

    response = await client.get(
        post_url(post["id"]), headers={**account.headers, "If-None-Match": header}
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == post


async def test_a_cached_etag_goes_stale_after_a_change(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    await client.patch(url, json={"body": "changed"}, headers=account.headers)

    stale = await client.get(url, headers={**account.headers, "If-None-Match": '"1"'})
    fresh = await client.get(url, headers={**account.headers, "If-None-Match": '"2"'})

    assert stale.status_code == 200
    assert stale.json()["body"] == "changed"
    assert stale.headers["etag"] == '"2"'
    assert fresh.status_code == 304


@pytest.mark.parametrize("header", ['"1"', "*", 'W/"1"', '"5", "1"'])
async def test_patch_with_matching_if_match_succeeds(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)

    response = await client.patch(
        post_url(post["id"]),
        json={"body": "changed"},
        headers={**account.headers, "If-Match": header},
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize("header", ['"1"', 'W/"1"', '"3"', '"abc"', '"1", "3"'])
async def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    current = (await client.patch(url, json={"body": "second"}, headers=account.headers)).json()

    response = await client.patch(
        url, json={"body": "lost update"}, headers={**account.headers, "If-Match": header}
    )

    body = assert_problem(response, 412, "precondition_failed")
    assert body["current_version"] == 2
    assert (await client.get(url, headers=account.headers)).json() == current


async def test_a_stale_if_match_wins_over_an_invalid_schedule(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    await client.patch(url, json={"body": "second"}, headers=account.headers)

    response = await client.patch(
        url, json={"status": "scheduled"}, headers={**account.headers, "If-Match": '"1"'}
    )

    assert_problem(response, 412, "precondition_failed")


@pytest.mark.parametrize("header", ['"1"', "*", 'W/"1"'])
async def test_delete_with_matching_if_match_succeeds(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, header: str
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])

    response = await client.delete(url, headers={**account.headers, "If-Match": header})

    assert response.status_code == 204
    assert_problem(await client.get(url, headers=account.headers), 404, "post_not_found")


async def test_delete_with_stale_if_match_is_412_and_keeps_the_post(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    current = (await client.patch(url, json={"body": "second"}, headers=account.headers)).json()

    response = await client.delete(url, headers={**account.headers, "If-Match": '"1"'})

    body = assert_problem(response, 412, "precondition_failed")
    assert body["current_version"] == 2
    assert (await client.get(url, headers=account.headers)).json() == current


# Scheduling


async def test_a_scheduled_post_with_a_future_time_is_created(
    client: httpx.AsyncClient, account: Account
) -> None:
    when = iso_in(hours=1)

    response = await client.post(
        POSTS,
        json={"body": "x", "status": "scheduled", "scheduled_at": when},
        headers=account.headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "scheduled"
    assert parse_time(response.json()["scheduled_at"]) == parse_time(when)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="no-time"),
        pytest.param({"scheduled_at": None}, id="null-time"),
        pytest.param({"scheduled_at": iso_in(minutes=-1)}, id="past"),
        pytest.param({"scheduled_at": "2001-01-01T00:00:00Z"}, id="long-past"),
    ],
)
async def test_creating_a_scheduled_post_needs_a_future_time(
    client: httpx.AsyncClient, account: Account, extra: dict[str, Any]
) -> None:
    response = await client.post(
        POSTS, json={"body": "x", "status": "scheduled", **extra}, headers=account.headers
    )

    assert_problem(response, 422, "validation_error")
    assert (await client.get(POSTS, headers=account.headers)).json()["items"] == []


async def test_a_draft_may_carry_a_time(client: httpx.AsyncClient, account: Account) -> None:
    response = await client.post(
        POSTS, json={"body": "x", "scheduled_at": iso_in(days=-1)}, headers=account.headers
    )

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("value", ["2099-01-01T09:00:00", "2099-01-01 09:00"])
async def test_a_naive_datetime_is_refused(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    method: str,
    value: str,
) -> None:
    url = POSTS if method == "POST" else post_url((await create_post(account))["id"])

    response = await client.request(
        method, url, json={"body": "x", "scheduled_at": value}, headers=account.headers
    )

    body = assert_problem(response, 422, "validation_error")
    assert any(e["loc"][-1] == "scheduled_at" for e in body["errors"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"status": "scheduled"}, id="no-time"),
        pytest.param({"status": "scheduled", "scheduled_at": None}, id="null-time"),
        pytest.param({"status": "scheduled", "scheduled_at": iso_in(hours=-1)}, id="past"),
    ],
)
async def test_patching_a_draft_to_scheduled_needs_a_future_time(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, changes: dict[str, Any]
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])

    response = await client.patch(url, json=changes, headers=account.headers)

    assert_problem(response, 422, "invalid_schedule")
    assert (await client.get(url, headers=account.headers)).json() == post


async def test_a_draft_with_a_past_time_cannot_become_scheduled(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account, scheduled_at=iso_in(days=-1))

    response = await client.patch(
        post_url(post["id"]), json={"status": "scheduled"}, headers=account.headers
    )

    assert_problem(response, 422, "invalid_schedule")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"scheduled_at": None}, id="clear-time"),
        pytest.param({"scheduled_at": iso_in(hours=-1)}, id="past-time"),
    ],
)
async def test_a_scheduled_post_keeps_a_future_time(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, changes: dict[str, Any]
) -> None:
    post = await create_post(account, status="scheduled", scheduled_at=iso_in(days=1))
    url = post_url(post["id"])

    response = await client.patch(url, json=changes, headers=account.headers)

    assert_problem(response, 422, "invalid_schedule")
    assert (await client.get(url, headers=account.headers)).json() == post


async def test_scheduling_and_unscheduling_through_patch(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    when = iso_in(days=2)

    scheduled = await client.patch(
        url, json={"status": "scheduled", "scheduled_at": when}, headers=account.headers
    )
    moved = await client.patch(url, json={"scheduled_at": iso_in(days=3)}, headers=account.headers)
    unscheduled = await client.patch(
        url, json={"status": "draft", "scheduled_at": None}, headers=account.headers
    )

    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    assert parse_time(scheduled.json()["scheduled_at"]) == parse_time(when)
    assert moved.status_code == 200, moved.text
    assert unscheduled.status_code == 200, unscheduled.text
    assert (unscheduled.json()["status"], unscheduled.json()["scheduled_at"]) == ("draft", None)
    assert unscheduled.json()["version"] == 4


# Length in graphemes (what a reader sees), not code points or bytes


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("a" * 3000, id="ascii"),
        pytest.param(THUMBS_UP_MEDIUM * 3000, id="skin-tone-emoji"),
        pytest.param(E_ACUTE_COMBINING * 3000, id="combining-accents"),
        pytest.param(THUMBS_UP_MEDIUM * 1500 + FAMILY * 1500, id="skin-tone-and-family-emoji"),
        pytest.param("a" * 2999 + FAMILY, id="ascii-and-one-family-emoji"),
        pytest.param("\U0001f1fa\U0001f1f8" * 3000, id="flags"),
    ],
)
async def test_a_body_of_3000_graphemes_is_accepted(
    client: httpx.AsyncClient, account: Account, body: str
) -> None:
    response = await client.post(POSTS, json={"body": body}, headers=account.headers)

    assert response.status_code == 201, response.text[:500]
    read = await client.get(response.headers["location"], headers=account.headers)
    assert read.json()["body"] == body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("a" * 3001, id="ascii"),
        pytest.param(THUMBS_UP_MEDIUM * 3001, id="skin-tone-emoji"),
        pytest.param(FAMILY * 2000 + "a" * 1001, id="family-emoji-and-ascii"),
        pytest.param("a" * 3000 + FAMILY, id="ascii-and-one-family-emoji"),
    ],
)
async def test_a_body_of_3001_graphemes_is_refused(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, body: str
) -> None:
    created = await client.post(POSTS, json={"body": body}, headers=account.headers)
    post = await create_post(account)
    patched = await client.patch(post_url(post["id"]), json={"body": body}, headers=account.headers)

    for response in (created, patched):
        problem = assert_problem(response, 422, "validation_error")
        assert [e["loc"] for e in problem["errors"]] == [["body", "body"]]  # type: ignore[attr-defined]
    assert (await client.get(post_url(post["id"]), headers=account.headers)).json() == post


@pytest.fixture
async def roomy_client(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that takes request bodies up to 256 KiB, on the same database."""
    roomy = create_app(make_settings(settings.database_url, max_body_bytes=256 * 1024))
    async with roomy.router.lifespan_context(roomy):
        transport = httpx.ASGITransport(app=roomy)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_3000_family_emoji_are_3000_characters(
    roomy_client: httpx.AsyncClient, account: Account
) -> None:
    # 3000 ZWJ families are 21,000 code points and 75,000 UTF-8 bytes: more than the default
    # 64 KiB request cap, so this runs on an app configured with a larger one.
    accepted = await roomy_client.post(POSTS, json={"body": FAMILY * 3000}, headers=account.headers)
    refused = await roomy_client.post(POSTS, json={"body": FAMILY * 3001}, headers=account.headers)

    assert accepted.status_code == 201, accepted.text[:500]
    assert accepted.json()["body"] == FAMILY * 3000
    assert_problem(refused, 422, "validation_error")
