"""Listing: newest first, keyset pages, filters, and pages that hold still while posts arrive."""

import asyncio
from collections import Counter
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.conftest import Account
from tests.posts.conftest import POSTS, CreatePost, ids, iso_in, parse_time, post_url, walk


async def _create_many(
    create_post: CreatePost, account: Account, n: int, **fields: Any
) -> list[dict[str, Any]]:
    """n posts, created one after another (so oldest first)."""
    return [await create_post(account, body=f"post number {i}", **fields) for i in range(n)]


async def test_a_new_account_has_an_empty_list(client: httpx.AsyncClient, account: Account) -> None:
    response = await client.get(POSTS, headers=account.headers)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_newest_first(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    posts = await _create_many(create_post, account, 5)

    response = await client.get(POSTS, headers=account.headers)

    assert response.json() == {"items": posts[::-1], "next_cursor": None}


async def test_pages_follow_one_another(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    posts = await _create_many(create_post, account, 7)
    newest_first = ids(posts[::-1])

    first = (await client.get(POSTS, params={"limit": 3}, headers=account.headers)).json()
    second = (
        await client.get(
            POSTS, params={"limit": 3, "cursor": first["next_cursor"]}, headers=account.headers
        )
    ).json()
    third = (
        await client.get(
            POSTS, params={"limit": 3, "cursor": second["next_cursor"]}, headers=account.headers
        )
    ).json()

    assert ids(first["items"]) == newest_first[:3]
    assert ids(second["items"]) == newest_first[3:6]
    assert ids(third["items"]) == newest_first[6:]
    assert first["next_cursor"]
    assert second["next_cursor"]
    assert third["next_cursor"] is None


async def test_a_full_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    await _create_many(create_post, account, 6)

    first = (await client.get(POSTS, params={"limit": 3}, headers=account.headers)).json()
    last = (
        await client.get(
            POSTS, params={"limit": 3, "cursor": first["next_cursor"]}, headers=account.headers
        )
    ).json()

    assert len(last["items"]) == 3
    assert last["next_cursor"] is None


async def test_the_default_page_holds_20(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    posts = await _create_many(create_post, account, 21)

    page = (await client.get(POSTS, headers=account.headers)).json()

    assert ids(page["items"]) == ids(posts[::-1][:20])
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", [1, 2, 4, 13, 100])
async def test_walking_every_page_returns_every_post_once(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, limit: int
) -> None:
    posts = await _create_many(create_post, account, 13)

    walked = await walk(client, account.headers, {"limit": limit})

    assert walked == posts[::-1]


async def test_a_deleted_post_leaves_the_list_and_pages_still_join_up(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    posts = await _create_many(create_post, account, 6)
    first = (await client.get(POSTS, params={"limit": 2}, headers=account.headers)).json()
    # The post the cursor points at is deleted before the next page is asked for.
    deleted = first["items"][-1]
    response = await client.delete(post_url(deleted["id"]), headers=account.headers)
    assert response.status_code == 204

    rest = await walk(client, account.headers, {"limit": 2, "cursor": first["next_cursor"]})
    assert ids(first["items"] + rest) == ids(posts[::-1])
    # A walk from the start no longer meets it.
    after = await walk(client, account.headers, {"limit": 2})
    assert ids(after) == [p["id"] for p in posts[::-1] if p["id"] != deleted["id"]]


# Filters


async def test_filter_by_status(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    by_status: dict[str, list[str]] = {}
    for status in ("draft", "published", "archived", "scheduled", "draft", "published"):
        extra = {"scheduled_at": iso_in(days=1)} if status == "scheduled" else {}
        post = await create_post(account, status=status, **extra)
        by_status.setdefault(status, []).insert(0, post["id"])

    for status, expected in by_status.items():
        walked = await walk(client, account.headers, {"status": status, "limit": 1})
        assert ids(walked) == expected, status
        assert {p["status"] for p in walked} == {status}


async def test_filter_by_campaign_is_exact(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    spring = [await create_post(account, campaign="spring") for _ in range(2)]
    await create_post(account, campaign="spring-2")
    await create_post(account, campaign="Spring")
    await create_post(account)

    walked = await walk(client, account.headers, {"campaign": "spring"})

    assert walked == spring[::-1]


async def test_filter_by_tag(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    ai = await create_post(account, tags=["AI", "tech"])
    ai_only = await create_post(account, tags=["#ai"])
    await create_post(account, tags=["aid", "tech"])
    await create_post(account)

    for tag in ("ai", "#AI", "Ai"):
        walked = await walk(client, account.headers, {"tag": tag})
        assert walked == [ai_only, ai], tag
    assert ids(await walk(client, account.headers, {"tag": "tech"}))[-1] == ai["id"]
    assert await walk(client, account.headers, {"tag": "nothing"}) == []


async def test_the_tag_filter_follows_changed_tags(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account, tags=["old", "kept"])

    patched = await client.patch(
        post_url(post["id"]), json={"tags": ["new", "kept"]}, headers=account.headers
    )

    assert patched.status_code == 200, patched.text
    assert await walk(client, account.headers, {"tag": "old"}) == []
    for tag in ("new", "kept"):
        assert ids(await walk(client, account.headers, {"tag": tag})) == [post["id"]]
    cleared = await client.patch(post_url(post["id"]), json={"tags": []}, headers=account.headers)
    assert cleared.json()["tags"] == []
    assert await walk(client, account.headers, {"tag": "kept"}) == []


async def test_filter_by_created_range(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    first, second, third = await _create_many(create_post, account, 3)
    t1, t2, t3 = (parse_time(p["created_at"]) for p in (first, second, third))
    assert t1 < t2 < t3

    cases = [
        ({"created_after": t2.isoformat()}, [third, second]),  # inclusive
        ({"created_before": t2.isoformat()}, [first]),  # exclusive
        ({"created_after": t1.isoformat(), "created_before": t3.isoformat()}, [second, first]),
        ({"created_after": (t3 + timedelta(microseconds=1)).isoformat()}, []),
        ({"created_before": t1.isoformat()}, []),
        ({"created_after": t2.isoformat(), "created_before": t2.isoformat()}, []),
        # The same instants written with another offset.
        (
            {
                "created_after": t2.astimezone(_offset(hours=5, minutes=30)).isoformat(),
                "created_before": t3.astimezone(_offset(hours=-8)).isoformat(),
            },
            [second],
        ),
    ]
    for params, expected in cases:
        assert await walk(client, account.headers, params) == expected, params


def _offset(**delta: float) -> timezone:
    return timezone(timedelta(**delta))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("launch", {"title-launch", "body-launch"}),
        ("LAUNCH", {"title-launch", "body-launch"}),
        ("LaUnCh", {"title-launch", "body-launch"}),
        ("100%", {"percent"}),
        ("%", {"percent"}),
        ("0%", {"percent"}),
        ("snake_case", {"underscore"}),
        ("_", {"underscore"}),
        ("e_c", {"underscore"}),
        ("back\\slash", {"backslash"}),
        ("\\", {"backslash"}),
        ("quarterly report", {"title-and-body"}),
        ("nothing like this", set()),
    ],
)
async def test_filter_by_text(
    client: httpx.AsyncClient,
    account: Account,
    create_post: CreatePost,
    q: str,
    expected: set[str],
) -> None:
    names: dict[str, str] = {}
    for name, fields in {
        "title-launch": {"title": "Product LAUNCH", "body": "Details inside"},
        "body-launch": {"body": "We launch on Monday"},
        "percent": {"body": "We are 100% sure"},
        "no-percent": {"body": "We are 1000 sure"},
        "underscore": {"body": "name it snake_case"},
        "no-underscore": {"body": "name it snakeXcase, or snake case"},
        "backslash": {"body": "a back\\slash here"},
        "no-backslash": {"body": "a backslash there"},
        # The title and the body are searched as one text, joined by a space.
        "title-and-body": {"title": "Quarterly", "body": "report"},
    }.items():
        names[(await create_post(account, **fields))["id"]] = name

    walked = await walk(client, account.headers, {"q": q})

    assert {names[p["id"]] for p in walked} == expected


async def test_filters_combine(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    match = {"status": "published", "campaign": "c1", "tags": ["ai"], "body": "AI news today"}
    wanted = [await create_post(account, **match) for _ in range(2)]
    for differs in (
        {"status": "draft"},
        {"campaign": "c2"},
        {"tags": ["ml"]},
        {"body": "ML news today"},
    ):
        await create_post(account, **(match | differs))

    walked = await walk(
        client, account.headers, {"status": "published", "campaign": "c1", "tag": "ai", "q": "ai n"}
    )

    assert walked == wanted[::-1]


@pytest.mark.parametrize("limit", [1, 3, 7])
async def test_filters_with_pagination(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, limit: int
) -> None:
    wanted = []
    for i in range(20):
        tags = ["even"] if i % 2 == 0 else ["odd"]
        post = await create_post(account, body=f"item {i}", tags=tags, campaign="c")
        if i % 2 == 0:
            wanted.append(post)
    start = parse_time(wanted[2]["created_at"])

    by_tag = await walk(client, account.headers, {"tag": "even", "limit": limit})
    by_tag_and_time = await walk(
        client,
        account.headers,
        {"tag": "even", "campaign": "c", "created_after": start.isoformat(), "limit": limit},
    )

    assert by_tag == wanted[::-1]
    assert by_tag_and_time == wanted[2:][::-1]


async def test_a_cursor_carries_over_to_a_filtered_walk(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    posts = [await create_post(account, tags=["odd" if i % 2 else "even"]) for i in range(6)]
    first = (await client.get(POSTS, params={"limit": 3}, headers=account.headers)).json()

    rest = await walk(client, account.headers, {"cursor": first["next_cursor"], "tag": "odd"})

    older = posts[::-1][3:]
    assert rest == [p for p in older if p["tags"] == ["odd"]]


# Posts arriving during a walk


def _assert_walk_is_stable(
    walked: list[dict[str, Any]], before: list[dict[str, Any]], during: list[dict[str, Any]]
) -> None:
    walked_ids = ids(walked)
    duplicates = [i for i, n in Counter(walked_ids).items() if n > 1]
    assert not duplicates
    assert set(ids(before)) <= set(walked_ids)
    assert set(walked_ids) <= set(ids(before)) | set(ids(during))
    # Whatever the walk holds is newest first.
    assert walked_ids == sorted(walked_ids, reverse=True)


@pytest.mark.parametrize("limit", [1, 4])
async def test_posts_created_between_pages_do_not_disturb_the_walk(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, limit: int
) -> None:
    before = await _create_many(create_post, account, 10)
    during: list[dict[str, Any]] = []
    walked: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}

    while True:
        page = (await client.get(POSTS, params=params, headers=account.headers)).json()
        walked.extend(page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
        during.extend([await create_post(account, body="late") for _ in range(2)])

    _assert_walk_is_stable(walked, before, during)
    # Posts created after the first page are newer than every cursor: the walk is the old list.
    assert walked == before[::-1]
    assert during


@pytest.mark.parametrize("limit", [1, 3])
async def test_posts_created_while_pages_load_do_not_disturb_the_walk(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, limit: int
) -> None:
    before = await _create_many(create_post, account, 12, tags=["walk"])
    during: list[dict[str, Any]] = []
    walked: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, "tag": "walk"}

    async def insert(n: int) -> None:
        for _ in range(n):
            during.append(await create_post(account, body="concurrent", tags=["walk"]))

    for _ in range(100):
        page_response, *_ = await asyncio.gather(
            client.get(POSTS, params=params, headers=account.headers), insert(2), insert(1)
        )
        assert page_response.status_code == 200, page_response.text
        page = page_response.json()
        walked.extend(page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    else:
        pytest.fail("the walk did not end")

    _assert_walk_is_stable(walked, before, during)
    assert len(during) >= 3


async def test_many_walkers_and_writers_at_once(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    before = await _create_many(create_post, account, 15)
    during: list[dict[str, Any]] = []

    async def writer() -> None:
        for _ in range(5):
            during.append(await create_post(account, body="writer"))

    results = await asyncio.gather(
        *(walk(client, account.headers, {"limit": limit}) for limit in (1, 2, 5)),
        writer(),
        writer(),
    )

    for walked in results[:3]:
        _assert_walk_is_stable(walked, before, during)
    final = await walk(client, account.headers, {"limit": 7})
    assert sorted(ids(final)) == sorted(ids(before + during))
