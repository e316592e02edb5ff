"""Concurrent edits: If-Match lets exactly one writer win, and no acknowledged write is lost.

SQLite serializes writers with BEGIN IMMEDIATE, so the second request reads the new version.
On PostgreSQL both requests can read the same version; the version column in the UPDATE's WHERE
makes the loser match no row. The races run through two apps (two engines and pools, like two
API processes) as well as one, and many at once, so the second case really happens.
"""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from linkedin_posts.config import Settings
from tests.conftest import Account, assert_problem, multi_process_settings
from tests.posts.conftest import CreatePost, post_url

Clients = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return multi_process_settings(migrated_url)


@pytest.fixture(params=["one-app", "two-apps"])
def clients(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, second_client: httpx.AsyncClient
) -> Clients:
    """The two clients the racers use: the same app twice, or two apps on one database."""
    return (client, client) if request.param == "one-app" else (client, second_client)


async def _read(client: httpx.AsyncClient, account: Account, post_id: str) -> dict[str, Any]:
    response = await client.get(post_url(post_id), headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    post: dict[str, Any] = response.json()
    return post


def _assert_one_winner(
    responses: list[httpx.Response], bodies: list[str], version: int, backend: str
) -> httpx.Response:
    """Exactly one 200 carrying version + 1; every other answer is a 412 problem."""
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    winner = winners[0]
    assert winner.json()["version"] == version + 1
    assert winner.headers["etag"] == f'"{version + 1}"'
    assert winner.json()["body"] in bodies
    for loser in responses:
        if loser is not winner:
            problem = assert_problem(loser, 412, "precondition_failed")
            if backend == "sqlite":
                # Serialized: the loser read the winner's version and says which it is.
                assert problem["current_version"] == version + 1
    return winner


async def test_two_patches_with_the_same_if_match_one_wins(
    clients: Clients, account: Account, create_post: CreatePost, backend: str
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    headers = {**account.headers, "If-Match": '"1"'}
    bodies = ["first writer", "second writer"]

    responses = await asyncio.gather(
        *(
            c.patch(url, json={"body": body}, headers=headers)
            for c, body in zip(clients, bodies, strict=True)
        )
    )

    winner = _assert_one_winner(list(responses), bodies, version=1, backend=backend)
    final = await _read(clients[0], account, post["id"])
    assert final == winner.json()
    assert final == await _read(clients[1], account, post["id"])


async def test_many_races_at_once_each_have_one_winner(
    clients: Clients, account: Account, create_post: CreatePost, backend: str
) -> None:
    posts = [await create_post(account, body=f"post {i}") for i in range(8)]
    headers = {**account.headers, "If-Match": '"1"'}
    racers = 3

    requests = [
        clients[r % 2].patch(
            post_url(post["id"]), json={"body": f"{post['id']} by racer {r}"}, headers=headers
        )
        for post in posts
        for r in range(racers)
    ]
    responses = await asyncio.gather(*requests)

    for i, post in enumerate(posts):
        mine = list(responses[i * racers : (i + 1) * racers])
        bodies = [f"{post['id']} by racer {r}" for r in range(racers)]
        winner = _assert_one_winner(mine, bodies, version=1, backend=backend)
        assert await _read(clients[1], account, post["id"]) == winner.json()


async def test_rounds_of_races_move_the_version_by_one_per_winner(
    clients: Clients, account: Account, create_post: CreatePost, backend: str
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    rounds, racers = 5, 4

    for round_ in range(rounds):
        version = round_ + 1
        headers = {**account.headers, "If-Match": f'"{version}"'}
        bodies = [f"round {round_} racer {r}" for r in range(racers)]
        responses = await asyncio.gather(
            *(
                clients[r % 2].patch(url, json={"body": bodies[r]}, headers=headers)
                for r in range(racers)
            )
        )
        winner = _assert_one_winner(list(responses), bodies, version=version, backend=backend)
        assert await _read(clients[0], account, post["id"]) == winner.json()

    final = await _read(clients[1], account, post["id"])
    assert final["version"] == 1 + rounds


async def test_patches_without_if_match_never_lose_an_acknowledged_write(
    clients: Clients, account: Account, create_post: CreatePost
) -> None:
    posts = [await create_post(account, body=f"post {i}") for i in range(4)]
    writers = 4

    requests = [
        clients[w % 2].patch(
            post_url(post["id"]),
            json={"body": f"{post['id']} by writer {w}", "title": f"writer {w}"},
            headers=account.headers,
        )
        for post in posts
        for w in range(writers)
    ]
    responses = await asyncio.gather(*requests)

    for i, post in enumerate(posts):
        mine = responses[i * writers : (i + 1) * writers]
        accepted = [r.json() for r in mine if r.status_code == 200]
        for response in mine:
            if response.status_code != 200:
                assert_problem(response, 409, "edit_conflict")
        assert accepted, "at least one writer must get through"
        versions = [p["version"] for p in accepted]
        assert len(set(versions)) == len(versions), versions
        assert sorted(versions) == list(range(2, 2 + len(accepted)))
        final = await _read(clients[0], account, post["id"])
        # The last acknowledged write is what is stored: nothing acknowledged was overwritten
        # by a write that was told it failed.
        assert final == max(accepted, key=lambda p: p["version"])


async def test_a_patch_and_a_delete_racing_on_one_version(
    clients: Clients, account: Account, create_post: CreatePost
) -> None:
    posts = [await create_post(account, body=f"post {i}") for i in range(6)]
    headers = {**account.headers, "If-Match": '"1"'}

    requests = []
    for i, post in enumerate(posts):
        patcher, deleter = (clients[0], clients[1]) if i % 2 else (clients[1], clients[0])
        url = post_url(post["id"])
        requests += [patcher.patch(url, json={"body": "patched"}, headers=headers)]
        requests += [deleter.delete(url, headers=headers)]
    responses = await asyncio.gather(*requests)

    outcomes = Counter[str]()
    for i, post in enumerate(posts):
        patched, deleted = responses[2 * i], responses[2 * i + 1]
        read = await clients[0].get(post_url(post["id"]), headers=account.headers)
        if deleted.status_code == 204:
            # The delete won: the patch was refused, and the post is gone.
            outcomes["delete"] += 1
            # Refused by the version check, or not found once the delete committed.
            codes = {404: "post_not_found", 412: "precondition_failed"}
            assert patched.status_code in codes, patched.text
            assert_problem(patched, patched.status_code, codes[patched.status_code])
            assert_problem(read, 404, "post_not_found")
        else:
            outcomes["patch"] += 1
            assert patched.status_code == 200, patched.text
            assert_problem(deleted, 412, "precondition_failed")
            assert read.json() == patched.json()
    assert sum(outcomes.values()) == len(posts)


async def test_a_stale_writer_retrying_with_the_new_etag_succeeds(
    clients: Clients, account: Account, create_post: CreatePost
) -> None:
    post = await create_post(account)
    url = post_url(post["id"])
    headers = {**account.headers, "If-Match": '"1"'}
    first, second = await asyncio.gather(
        clients[0].patch(url, json={"title": "A"}, headers=headers),
        clients[1].patch(url, json={"campaign": "B"}, headers=headers),
    )
    loser = second if first.status_code == 200 else first
    assert_problem(loser, 412, "precondition_failed")

    current = await clients[0].get(url, headers=account.headers)
    retried = await clients[1].patch(
        url,
        json={"title": "A", "campaign": "B"},
        headers={**account.headers, "If-Match": current.headers["etag"]},
    )

    assert retried.status_code == 200, retried.text
    assert retried.json()["version"] == 3
    assert (retried.json()["title"], retried.json()["campaign"]) == ("A", "B")


async def test_a_delete_without_if_match_racing_a_patch(
    clients: Clients, account: Account, create_post: CreatePost
) -> None:
    posts = [await create_post(account, body=f"post {i}") for i in range(8)]

    requests = []
    for i, post in enumerate(posts):
        patcher, deleter = (clients[0], clients[1]) if i % 2 else (clients[1], clients[0])
        url = post_url(post["id"])
        requests += [patcher.patch(url, json={"body": "patched"}, headers=account.headers)]
        requests += [deleter.delete(url, headers=account.headers)]
    responses = await asyncio.gather(*requests)

    for i, post in enumerate(posts):
        patched, deleted = responses[2 * i], responses[2 * i + 1]
        read = await clients[0].get(post_url(post["id"]), headers=account.headers)
        # No precondition was sent, so none can fail: the delete goes through or is told to
        # retry because of the concurrent edit.
        if deleted.status_code == 204:
            assert_problem(read, 404, "post_not_found")
            codes = {404: "post_not_found", 409: "edit_conflict"}
            if patched.status_code != 200:
                assert patched.status_code in codes, patched.text
                assert_problem(patched, patched.status_code, codes[patched.status_code])
        else:
            assert_problem(deleted, 409, "edit_conflict")
            assert patched.status_code == 200, patched.text
            assert read.json() == patched.json()
