"""Someone else's post does not exist for you: not to read, change, delete, list or probe."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Account, MakeAccount, assert_problem
from tests.posts.conftest import POSTS, CreatePost, iso_in, post_url

# (method, headers, json) sent by the intruder to the owner's post.
ATTEMPTS = {
    "get": ("GET", {}, None),
    "get-if-none-match-current": ("GET", {"If-None-Match": '"1"'}, None),
    "get-if-none-match-any": ("GET", {"If-None-Match": "*"}, None),
    "patch": ("PATCH", {}, {"body": "hijacked"}),
    "patch-empty": ("PATCH", {}, {}),
    "patch-if-match-current": ("PATCH", {"If-Match": '"1"'}, {"body": "hijacked"}),
    "patch-if-match-any": ("PATCH", {"If-Match": "*"}, {"title": "hijacked"}),
    "patch-if-match-stale": ("PATCH", {"If-Match": '"9"'}, {"body": "hijacked"}),
    "patch-invalid-schedule": ("PATCH", {}, {"status": "scheduled"}),
    "delete": ("DELETE", {}, None),
    "delete-if-match-current": ("DELETE", {"If-Match": '"1"'}, None),
    "delete-if-match-any": ("DELETE", {"If-Match": "*"}, None),
    "delete-if-match-stale": ("DELETE", {"If-Match": '"9"'}, None),
}

CREDENTIALS = ["jwt", "api-key-header", "api-key-bearer"]
# Response headers that must not tell an existing post from a missing one.
_STABLE = {"content-type", "etag", "www-authenticate", "cache-control", "vary", "location"}


@dataclass
class Scene:
    owner: Account
    post: dict[str, Any]
    intruder_headers: dict[str, str]


async def _credentials(client: httpx.AsyncClient, account: Account, kind: str) -> dict[str, str]:
    if kind == "jwt":
        return account.headers
    created = await client.post("/v1/api-keys", json={"name": "intruder"}, headers=account.headers)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    return {"X-API-Key": key} if kind == "api-key-header" else {"Authorization": f"Bearer {key}"}


@pytest.fixture(params=CREDENTIALS)
async def scene(
    request: pytest.FixtureRequest,
    client: httpx.AsyncClient,
    make_account: MakeAccount,
    create_post: CreatePost,
) -> Scene:
    owner, intruder = await make_account(), await make_account()
    post = await create_post(
        owner,
        body="Quarterly roadmap, internal",
        title="Alpha plans",
        campaign="launch",
        tags=["ai", "roadmap"],
        status="scheduled",
        scheduled_at=iso_in(days=7),
    )
    headers = await _credentials(client, intruder, request.param)
    # The intruder's credentials work: what follows is refused for the post, not the caller.
    me = await client.get("/v1/users/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == intruder.email
    return Scene(owner=owner, post=post, intruder_headers=headers)


async def _assert_untouched(client: httpx.AsyncClient, scene: Scene) -> None:
    read = await client.get(post_url(scene.post["id"]), headers=scene.owner.headers)
    assert read.status_code == 200, read.text
    assert read.json() == scene.post
    assert read.headers["etag"] == '"1"'
    listed = await client.get(POSTS, headers=scene.owner.headers)
    assert listed.json()["items"] == [scene.post]


@pytest.mark.parametrize("attempt", ATTEMPTS.values(), ids=ATTEMPTS.keys())
async def test_another_users_post_is_not_found(
    client: httpx.AsyncClient, scene: Scene, attempt: tuple[str, dict[str, str], Any]
) -> None:
    method, headers, payload = attempt
    kwargs: dict[str, Any] = {} if payload is None else {"json": payload}

    answers = []
    for post_id in (scene.post["id"], str(uuid.uuid4())):
        response = await client.request(
            method, post_url(post_id), headers={**scene.intruder_headers, **headers}, **kwargs
        )
        body = assert_problem(response, 404, "post_not_found")
        assert body.pop("instance") == post_url(post_id)
        answers.append((body, {k: v for k, v in response.headers.items() if k in _STABLE}))

    # The answer for someone else's post is the answer for a post that does not exist.
    assert answers[0] == answers[1]
    assert "etag" not in answers[0][1]
    await _assert_untouched(client, scene)


LIST_FILTERS = {
    "none": {},
    "status": {"status": "scheduled"},
    "campaign": {"campaign": "launch"},
    "tag": {"tag": "ai"},
    "tag-with-hash": {"tag": "#AI"},
    "q-title": {"q": "alpha"},
    "q-body": {"q": "roadmap"},
    "created-range": {"created_after": iso_in(days=-1), "created_before": iso_in(days=1)},
    "everything": {
        "status": "scheduled",
        "campaign": "launch",
        "tag": "roadmap",
        "q": "Quarterly",
        "created_after": iso_in(days=-1),
        "limit": "100",
    },
}


@pytest.mark.parametrize("params", LIST_FILTERS.values(), ids=LIST_FILTERS.keys())
async def test_another_users_posts_never_appear_in_my_list(
    client: httpx.AsyncClient, scene: Scene, params: dict[str, str]
) -> None:
    response = await client.get(POSTS, params=params, headers=scene.intruder_headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}
    # The filter does find the post for its owner.
    owner_view = await client.get(POSTS, params=params, headers=scene.owner.headers)
    assert [p["id"] for p in owner_view.json()["items"]] == [scene.post["id"]]


async def test_each_user_lists_only_their_own_posts(
    client: httpx.AsyncClient, make_account: MakeAccount, create_post: CreatePost
) -> None:
    alice, bob = await make_account(), await make_account()
    alices = [await create_post(alice, body=f"post by alice {i}", tags=["x"]) for i in range(3)]
    bobs = [await create_post(bob, body=f"post by bob {i}", tags=["x"]) for i in range(3)]

    for account, own in ((alice, alices), (bob, bobs)):
        for params in ({}, {"tag": "x"}, {"q": "post"}, {"limit": "1"}):
            response = await client.get(POSTS, params=params, headers=account.headers)
            listed = {p["id"] for p in response.json()["items"]}
            assert listed <= {p["id"] for p in own}, params
            assert listed


async def test_a_cursor_from_another_user_shows_only_my_posts(
    client: httpx.AsyncClient, make_account: MakeAccount, create_post: CreatePost
) -> None:
    alice, bob = await make_account(), await make_account()
    for i in range(3):
        await create_post(alice, body=f"alice {i}")
    bobs = [await create_post(bob, body=f"bob {i}") for i in range(2)]
    alice_page = await client.get(POSTS, params={"limit": "1"}, headers=alice.headers)
    cursor = alice_page.json()["next_cursor"]

    response = await client.get(POSTS, params={"cursor": cursor}, headers=bob.headers)

    assert response.status_code == 200, response.text
    assert {p["id"] for p in response.json()["items"]} <= {p["id"] for p in bobs}


async def test_the_owner_can_still_do_everything_after_the_attempts(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    for method, headers, payload in ATTEMPTS.values():
        kwargs: dict[str, Any] = {} if payload is None else {"json": payload}
        await client.request(
            method,
            post_url(scene.post["id"]),
            headers={**scene.intruder_headers, **headers},
            **kwargs,
        )
    url = post_url(scene.post["id"])
    owner = scene.owner.headers

    patched = await client.patch(url, json={"body": "mine"}, headers={**owner, "If-Match": '"1"'})
    deleted = await client.delete(url, headers={**owner, "If-Match": '"2"'})

    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert deleted.status_code == 204
