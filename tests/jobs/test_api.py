"""Bulk jobs through the API with the embedded runner, on SQLite and PostgreSQL: analyze,
generate (template provider) and import jobs, their items, events, limits and isolation."""

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest

from linkedin_posts.config import Settings
from tests.conftest import Account, assert_problem, make_settings, open_account
from tests.jobs.helpers import JOBS, finished, items_of, submit

TEXTS = [
    "Shipping small changes every day taught our team more than any roadmap did. What is "
    "your team's smallest useful release? #engineering #delivery",
    "Hiring tip: describe the problems the role will solve, not a list of twelve frameworks.",
    "Tres cosas que aprendimos al lanzar nuestro producto en Madrid: escuchar, medir y repetir.",
]
BRIEF = {
    "topic": "Why code review makes teams faster",
    "key_points": ["Small pull requests get reviewed within hours", "Reviews spread knowledge"],
    "tone": "educational",
}


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return make_settings(
        migrated_url, ratelimit_ai="1000/minute", jobs_enabled=True, jobs_poll_seconds=0.2
    )


def events_of(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.decode().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if lines:
            name = lines[0].removeprefix("event: ")
            events.append((name, orjson.loads(lines[1].removeprefix("data: "))))
    return events


async def test_an_analyze_job_scores_each_text_and_its_events_end_with_the_result(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = await submit(
        client, account, {"kind": "analyze", "items": [{"text": text} for text in TEXTS]}
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert created.headers["location"] == f"{JOBS}/{job['id']}"
    assert (job["kind"], job["total"], job["priority"]) == ("analyze", 3, "normal")

    stream = await client.get(f"{JOBS}/{job['id']}/events", headers=account.headers)
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = events_of(stream.content)
    assert events[-1][0] == "end"
    assert [name for name, _ in events[:-1]] == ["progress"] * (len(events) - 1)
    done = [data["done"] for _, data in events]
    assert done == sorted(done), "progress never goes back"
    final = events[-1][1]
    assert (final["status"], final["succeeded"], final["failed"]) == ("succeeded", 3, 0)
    assert final["finished_at"] is not None

    items = await items_of(client, account, job["id"])
    assert [item["index"] for item in items] == [0, 1, 2]
    languages = [item["result"]["analysis"]["language"]["code"] for item in items]
    assert languages == ["en", "en", "es"]
    direct = await client.post("/v1/analyze", json={"text": TEXTS[0]}, headers=account.headers)
    assert items[0]["result"]["analysis"] == direct.json()


async def test_an_analyze_job_rescores_posts_and_reports_a_missing_one(
    client: httpx.AsyncClient, account: Account
) -> None:
    post = (await client.post("/v1/posts", json={"body": TEXTS[1]}, headers=account.headers)).json()
    stranger = await open_account(client)
    theirs = (
        await client.post("/v1/posts", json={"body": TEXTS[0]}, headers=stranger.headers)
    ).json()
    items = [{"post_id": post["id"]}, {"post_id": theirs["id"]}]
    job = (await submit(client, account, {"kind": "analyze", "items": items})).json()

    final = await finished(client, account, job["id"])

    assert (final["status"], final["succeeded"], final["failed"]) == ("partial", 1, 1)
    mine, other = await items_of(client, account, job["id"])
    assert mine["result"]["post_id"] == post["id"]
    assert mine["result"]["analysis"]["counts"]["words"] > 5
    assert other["status"] == "failed"
    assert other["error"]["code"] == "post_not_found"  # another user's post is not there
    assert other["attempts"] == 1  # not worth a retry


async def test_a_generate_job_saves_each_variant_once_as_a_draft(
    client: httpx.AsyncClient, account: Account
) -> None:
    briefs = [{**BRIEF, "save": True, "seed": n, "variants": 2} for n in range(4)]
    job = (await submit(client, account, {"kind": "generate", "items": briefs})).json()

    final = await finished(client, account, job["id"])

    assert (final["status"], final["succeeded"]) == ("succeeded", 4)
    items = await items_of(client, account, job["id"])
    saved = [variant["post_id"] for item in items for variant in item["result"]["variants"]]
    listed = await client.get("/v1/posts", params={"limit": 100}, headers=account.headers)
    posts = {post["id"]: post for post in listed.json()["items"]}
    assert sorted(saved) == sorted(posts)  # 8 drafts, each saved once
    for item in items:
        for variant in item["result"]["variants"]:
            assert posts[variant["post_id"]]["body"] == variant["text"]
            assert variant["analysis"]["score"] >= 0


async def test_an_import_job_imports_good_rows_and_reports_bad_ones_by_row(
    client: httpx.AsyncClient, account: Account
) -> None:
    rows: list[dict[str, Any]] = [
        {"body": "First imported post #launch", "title": "one", "tags": "launch, ai"},
        {"body": "   "},
        {"body": "Third post", "status": "scheduled"},
        {"body": "Fourth post", "campaign": "spring"},
    ]
    job = (await submit(client, account, {"kind": "import", "items": rows})).json()

    final = await finished(client, account, job["id"])

    assert (final["status"], final["succeeded"], final["failed"]) == ("partial", 2, 2)
    items = await items_of(client, account, job["id"])
    assert [(item["row"], item["status"]) for item in items] == [
        (1, "succeeded"),
        (2, "failed"),
        (3, "failed"),
        (4, "succeeded"),
    ]
    assert items[1]["error"]["code"] == "invalid_row"
    assert "body" in items[1]["error"]["detail"]
    assert "scheduled" in items[2]["error"]["detail"]
    failed_only = await items_of(client, account, job["id"], status="failed")
    assert [item["row"] for item in failed_only] == [2, 3]
    first = await client.get(f"/v1/posts/{items[0]['result']['post_id']}", headers=account.headers)
    assert (first.json()["title"], first.json()["tags"]) == ("one", ["launch", "ai"])


async def test_a_csv_upload_is_imported_row_by_row(
    client: httpx.AsyncClient, account: Account
) -> None:
    csv = (
        b"title;body;tags\n"
        b'Launch;"We launched today.\nThank you, team!";launch\n'
        b";;\n"
        b"Empty body;;\n"
        b'Lessons;"Three lessons; one post";ai\n'
    )
    created = await client.post(
        f"{JOBS}/import",
        content=csv,
        headers={**account.headers, "Content-Type": "text/csv"},
    )
    assert created.status_code == 201, created.text

    final = await finished(client, account, created.json()["id"])

    assert (final["succeeded"], final["failed"]) == (2, 1)
    items = await items_of(client, account, created.json()["id"])
    assert [item["row"] for item in items if item["status"] == "failed"] == [3]
    listed = await client.get("/v1/posts", headers=account.headers)
    bodies = sorted(post["body"] for post in listed.json()["items"])
    assert bodies == ["Three lessons; one post", "We launched today.\nThank you, team!"]


async def test_an_unreadable_upload_is_refused_whole(
    client: httpx.AsyncClient, account: Account
) -> None:
    latin1 = "title,body\nCaf\u00e9,Un caf\u00e9 pour l'\u00e9quipe\n".encode("latin-1")
    response = await client.post(
        f"{JOBS}/import", content=latin1, headers={**account.headers, "Content-Type": "text/csv"}
    )
    assert_problem(response, 422, "import_encoding_unsupported")
    listed = await client.get(JOBS, headers=account.headers)
    assert listed.json()["items"] == []


async def test_a_retried_submit_returns_the_same_job(
    client: httpx.AsyncClient, account: Account
) -> None:
    body = {"kind": "analyze", "items": [{"text": TEXTS[0]}]}
    key = {"Idempotency-Key": "campaign-42"}
    first = await submit(client, account, body, **key)
    again = await submit(client, account, body, **key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = await submit(client, account, {**body, "priority": "high"}, **key)
    assert_problem(other, 409, "idempotency_key_reused")
    stranger = await open_account(client)
    theirs = await submit(client, stranger, body, **key)
    assert theirs.status_code == 201  # keys are per user
    listed = await client.get(JOBS, headers=account.headers)
    assert [job["id"] for job in listed.json()["items"]] == [first.json()["id"]]


async def test_another_users_job_is_not_found(client: httpx.AsyncClient, account: Account) -> None:
    job = (await submit(client, account, {"kind": "analyze", "items": [{"text": "Hi"}]})).json()
    stranger = await open_account(client)
    for method, path in [
        ("GET", f"{JOBS}/{job['id']}"),
        ("GET", f"{JOBS}/{job['id']}/items"),
        ("GET", f"{JOBS}/{job['id']}/events"),
        ("POST", f"{JOBS}/{job['id']}/cancel"),
    ]:
        response = await client.request(method, path, headers=stranger.headers)
        assert_problem(response, 404, "job_not_found")
    assert (await client.get(JOBS, headers=stranger.headers)).json()["items"] == []


async def test_bad_submits_get_problems(client: httpx.AsyncClient, account: Account) -> None:
    cases: list[tuple[Any, int, str]] = [
        ({"kind": "analyze", "items": []}, 422, "validation_error"),
        ({"kind": "publish", "items": [{"text": "x"}]}, 422, "validation_error"),
        (
            {"kind": "analyze", "items": [{"text": "x", "post_id": str(uuid.uuid4())}]},
            422,
            "validation_error",
        ),
        ({"kind": "analyze", "items": [{}]}, 422, "validation_error"),
        (
            {"kind": "generate", "items": [{"topic": "ok topic", "tone": "rude"}]},
            422,
            "validation_error",
        ),
        ({"kind": "analyze", "items": [{"text": "x"}], "concurrency": 0}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        assert_problem(await submit(client, account, body), status, code)
    cursor = await client.get(JOBS, params={"cursor": "nope"}, headers=account.headers)
    assert_problem(cursor, 422, "validation_error")


class TestLimits:
    @pytest.fixture
    def settings(self, migrated_url: str) -> Settings:
        # No runner: submitted jobs stay queued, so the in-flight limit can be reached.
        return make_settings(
            migrated_url, jobs_enabled=False, jobs_max_items=5, jobs_max_in_flight=2
        )

    async def test_items_and_jobs_in_flight_are_capped_per_user(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        six = {"kind": "analyze", "items": [{"text": f"Post {n}"} for n in range(6)]}
        assert_problem(await submit(client, account, six), 413, "job_too_large")
        five = {**six, "items": six["items"][:5]}
        for _ in range(2):
            assert (await submit(client, account, five)).status_code == 201
        third = await submit(client, account, five)
        assert_problem(third, 429, "too_many_jobs")
        assert int(third.headers["retry-after"]) > 0
        stranger = await open_account(client)
        assert (await submit(client, stranger, five)).status_code == 201

    async def test_submits_at_once_never_pass_the_jobs_in_flight_limit_together(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        one = {"kind": "analyze", "items": [{"text": "Post"}]}
        answers = await asyncio.gather(*(submit(client, account, one) for _ in range(8)))

        assert sorted(a.status_code for a in answers) == [201] * 2 + [429] * 6
        listed = await client.get(JOBS, headers=account.headers)
        assert len(listed.json()["items"]) == 2

    async def test_cancelling_a_queued_job_ends_it_at_once(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        body = {"kind": "analyze", "items": [{"text": f"Post {n}"} for n in range(3)]}
        job = (await submit(client, account, body)).json()

        cancelled = await client.post(f"{JOBS}/{job['id']}/cancel", headers=account.headers)

        assert cancelled.status_code == 200
        assert (cancelled.json()["status"], cancelled.json()["done"]) == ("cancelled", 0)
        items = await items_of(client, account, job["id"])
        assert {item["status"] for item in items} == {"cancelled"}
        again = await client.post(f"{JOBS}/{job['id']}/cancel", headers=account.headers)
        assert again.json()["status"] == "cancelled"
        # A cancelled job no longer counts against the in-flight limit.
        assert (await submit(client, account, body)).status_code == 201
