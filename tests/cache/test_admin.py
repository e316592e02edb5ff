"""The cache's admin endpoints, and the hook later parts cache computed results through."""

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.cache.content import open_content_cache
from linkedin_posts.main import create_app
from linkedin_posts.posts import service as posts_service
from tests.conftest import Account, assert_problem, make_settings, open_account, open_admin, serving

STATS = "/v1/admin/cache/stats"
CLEAR = "/v1/admin/cache/clear"


@pytest.fixture
async def admin(app: FastAPI, client: httpx.AsyncClient) -> Account:
    return await open_admin(app, client)


async def test_members_get_403(client: httpx.AsyncClient, account: Account) -> None:
    assert_problem(await client.get(STATS, headers=account.headers), 403, "admin_required")
    assert_problem(await client.post(CLEAR, headers=account.headers), 403, "admin_required")


async def test_stats_count_hits_and_misses_and_clear_empties_memory(
    client: httpx.AsyncClient, admin: Account
) -> None:
    created = await client.post("/v1/posts", json={"body": "hello"}, headers=admin.headers)
    url = f"/v1/posts/{created.json()['id']}"
    before = (await client.get(STATS, headers=admin.headers)).json()["levels"]["l1"]

    answers = [(await client.get(url, headers=admin.headers)).headers["X-Cache"] for _ in range(4)]
    after = (await client.get(STATS, headers=admin.headers)).json()

    assert answers == ["MISS", "HIT-L1", "HIT-L1", "HIT-L1"]
    l1 = after["levels"]["l1"]
    # Each answer looks up the credential and the post; each stats call its credential.
    assert l1["hits"] - before["hits"] == 3 * 2 + 1 + 1
    assert l1["misses"] - before["misses"] == 1
    assert 0 < l1["hit_ratio"] <= 1
    assert l1["entries"] >= 2
    assert l1["bytes"] > 0
    assert l1["policy"] == "lru"
    assert "l2" not in after["levels"]  # no Redis in the embedded shape

    cleared = await client.post(CLEAR, headers=admin.headers)

    assert cleared.status_code == 200
    assert cleared.json()["memory_entries"] >= 2
    assert (await client.get(url, headers=admin.headers)).headers["X-Cache"] == "MISS"


async def test_the_content_hook_computes_once_per_input_and_keeps_it_on_disk(
    migrated_url: str, tmp_path: Path
) -> None:
    settings = make_settings(migrated_url, cache_disk_dir=str(tmp_path / "l3"))
    calls: list[str] = []

    async def analyse_ab() -> dict[str, object]:
        calls.append("ab")
        return {"score": 87, "words": ["a", "b"]}

    first_app = create_app(settings)
    async with serving(first_app):
        content = first_app.state.content_cache
        results = [await content.get_or_compute("analysis", ["en", "a b"], analyse_ab)]
        results.append(await content.get_or_compute("analysis", ["en", "a b"], analyse_ab))
        assert calls == ["ab"]
        other = await content.get_or_compute("analysis", ["es", "a b"], analyse_ab)
        assert calls == ["ab", "ab"]

    # A restart of the embedded process: memory is gone, the disk level still has it.
    second_app = create_app(settings)
    async with serving(second_app):
        again = await second_app.state.content_cache.get_or_compute(
            "analysis", ["en", "a b"], analyse_ab
        )
        disk = second_app.state.content_cache.stats()

    assert results == [again, again] == [{"score": 87, "words": ["a", "b"]}] * 2
    assert other == again
    assert calls == ["ab", "ab"]
    assert disk["hits"] == 1
    assert disk["entries"] == 2


async def test_bulk_work_uses_kept_results_and_keeps_none_of_its_own(migrated_url: str) -> None:
    calls: list[str] = []

    def analyse(text: str) -> Callable[[], Awaitable[dict[str, object]]]:
        async def compute() -> dict[str, object]:
            calls.append(text)
            return {"text": text}

        return compute

    app = create_app(make_settings(migrated_url))
    async with serving(app):
        content = app.state.content_cache
        kept = await content.get_or_compute("analysis", ["en", "a"], analyse("a"))
        used = await content.get_or_compute("analysis", ["en", "a"], analyse("a"), keep=False)
        for _ in range(2):
            await content.get_or_compute("analysis", ["en", "b"], analyse("b"), keep=False)
        await content.get_or_compute("analysis", ["en", "b"], analyse("b"))

    assert kept == used == {"text": "a"}
    assert calls == ["a", "b", "b", "b"]  # "a" was kept; "b" not until asked without keep=False


def test_without_a_directory_there_is_no_disk_level(migrated_url: str) -> None:
    assert open_content_cache(make_settings(migrated_url), None).disk is None


@pytest.mark.parametrize(("chunk", "created", "warm"), [(500, 3, 2), (2, 6, 5)])
async def test_warm_up_puts_the_newest_posts_in_memory(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, chunk: int, created: int, warm: int
) -> None:
    monkeypatch.setattr(posts_service, "WARM_CHUNK", chunk)  # a few queries of `chunk` posts
    settings = make_settings(migrated_url)
    first = create_app(settings)
    async with (
        first.router.lifespan_context(first),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://test"
        ) as client,
    ):
        owner = await open_account(client)
        ids = []
        for n in range(created):
            response = await client.post(
                "/v1/posts", json={"body": f"post {n}"}, headers=owner.headers
            )
            ids.append(response.json()["id"])

    warmed = create_app(make_settings(migrated_url, cache_warmup_posts=warm))
    async with serving(warmed) as client:
        await client.get("/v1/users/me", headers=owner.headers)  # the credential, not a post
        answers = [await client.get(f"/v1/posts/{i}", headers=owner.headers) for i in ids]

    old = created - warm
    assert [a.headers["X-Cache"] for a in answers] == ["MISS"] * old + ["HIT-L1"] * warm
    assert [a.json()["body"] for a in answers] == [f"post {n}" for n in range(created)]
