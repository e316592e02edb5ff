"""POST /v1/generate, /v1/generate/stream, /v1/posts/{id}/rewrite and GET /v1/users/me/usage,
on the default (template) provider."""

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest

from linkedin_posts.analysis.schemas import AnalysisRead
from linkedin_posts.config import Settings
from linkedin_posts.generation.schemas import GenerationRead, RewriteRead, UsageRead
from linkedin_posts.main import create_app
from tests.conftest import (
    PASSWORD,
    Account,
    assert_problem,
    make_settings,
    open_account,
    serving,
)
from tests.ratelimit.conftest import hold_the_clock

GENERATE = "/v1/generate"
STREAM = "/v1/generate/stream"
USAGE = "/v1/users/me/usage"
BRIEF: dict[str, Any] = {
    "topic": "Why code review makes teams faster",
    "key_points": [
        "Small pull requests get reviewed within hours, not days",
        "Reviews spread knowledge of the code base across the team",
        "A checklist catches the boring mistakes so people can discuss design",
    ],
    "audience": "engineering managers",
    "tone": "educational",
    "length": "medium",
}
MESSY_DRAFT = (
    "WE ARE HIRING NOW and this is a very long line that goes on and on without any break at all "
    "because nobody told the author that LinkedIn readers skim on their phones and a wall of text "
    "like this one loses them before the second sentence, which is a pity because the job is "
    "good. Apply today. The team is kind. The pay is fair. The work matters to our customers."
)


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    # Many generations per account here; the ai budget has its own test.
    return make_settings(migrated_url, ratelimit_ai="1000/minute")


async def generate(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await client.post(GENERATE, json={**BRIEF, **body}, headers=account.headers)


def events_of(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], orjson.loads(fields["data"])))
    return events


async def test_generate_answers_scored_variants_that_follow_the_brief(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await generate(client, account, variants=3, seed=7)

    assert response.status_code == 200, response.text
    result = GenerationRead.model_validate(response.json())
    assert (result.provider, result.seed, result.cached) == ("template", 7, False)
    assert result.usage.total_tokens == 0  # a template engine spends no tokens
    assert len(result.variants) == 3
    assert len({variant.text for variant in result.variants}) == 3
    for variant in result.variants:
        assert "Small pull requests get reviewed within hours" in variant.text
        assert variant.analysis.score >= 70, variant.analysis.findings
        assert variant.analysis.language.code == "en"
        assert variant.analysis.hashtags.count >= 1
        assert variant.post_id is None


async def test_the_same_seed_writes_the_same_posts(
    client: httpx.AsyncClient, account: Account
) -> None:
    first = await generate(client, account, variants=2, seed=42)
    again = await generate(client, account, variants=2, seed=42)
    other = await generate(client, account, variants=2, seed=43)

    texts = [[v["text"] for v in r.json()["variants"]] for r in (first, again, other)]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


async def test_spanish_briefs_are_written_in_spanish(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await generate(
        client,
        account,
        topic="Cómo preparar una entrevista técnica",
        key_points=["Practica en voz alta", "Pregunta por el equipo y su forma de trabajar"],
        audience=None,
        tone="friendly",
        language="es",
        seed=1,
    )

    assert response.status_code == 200, response.text
    analysis = response.json()["variants"][0]["analysis"]
    assert analysis["language"]["code"] == "es"
    assert analysis["score"] >= 70


async def test_a_language_the_template_does_not_write_is_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await generate(client, account, language="fr")

    body = assert_problem(response, 422, "language_not_supported")
    assert body["languages"] == ["en", "es"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": 6}, "variants"),
        ({"variants": 0}, "variants"),
        ({"topic": "   "}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"key_points": ["a point"] * 11}, "key_points"),
        ({"key_points": [""]}, "key_points"),
        ({"tone": "sarcastic"}, "tone"),
        ({"length": "epic"}, "length"),
        ({"temperature": 2.5}, "temperature"),
        ({"seed": -1}, "seed"),
        ({"language": "xx"}, "language"),
        ({"call_to_action": "a\u0000b"}, "call_to_action"),
        ({"surprise": True}, "surprise"),
        # What the schema says is a number or a boolean must be one, not a string or 0.
        ({"variants": "2"}, "variants"),
        ({"variants": 2.5}, "variants"),
        ({"seed": True}, "seed"),
        ({"temperature": "0.5"}, "temperature"),
        ({"save": 0}, "save"),
        ({"hashtags": "yes"}, "hashtags"),
    ],
)
async def test_bad_briefs_are_422_naming_the_field(
    client: httpx.AsyncClient, account: Account, change: dict[str, Any], field: str
) -> None:
    response = await generate(client, account, **change)

    body = assert_problem(response, 422, "validation_error")
    assert any(field in error["loc"] for error in body["errors"])  # type: ignore[attr-defined]


async def test_a_whole_number_written_with_a_decimal_point_is_an_integer(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await generate(client, account, variants=2.0, seed=7.0)

    assert response.status_code == 200, response.text
    assert (len(response.json()["variants"]), response.json()["seed"]) == (2, 7)


async def test_generate_needs_json_and_a_principal(
    client: httpx.AsyncClient, account: Account
) -> None:
    as_form = await client.post(GENERATE, data={"topic": "x"}, headers=account.headers)
    anonymous = await client.post(GENERATE, json=BRIEF)

    assert_problem(as_form, 415, "unsupported_media_type")
    assert_problem(anonymous, 401, "not_authenticated")


async def test_saved_variants_are_the_callers_drafts(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await generate(client, account, variants=2, save=True)

    assert response.status_code == 200, response.text
    variants = response.json()["variants"]
    for variant in variants:
        post = await client.get(f"/v1/posts/{variant['post_id']}", headers=account.headers)
        assert post.status_code == 200
        assert post.json()["body"] == variant["text"]
        assert post.json()["status"] == "draft"
        assert post.json()["title"] == BRIEF["topic"]
    listed = await client.get("/v1/posts", headers=account.headers)
    assert {p["id"] for p in listed.json()["items"]} == {v["post_id"] for v in variants}
    stranger = await open_account(client)
    theirs = await client.get(f"/v1/posts/{variants[0]['post_id']}", headers=stranger.headers)
    assert_problem(theirs, 404, "post_not_found")


async def test_at_temperature_zero_an_identical_request_is_answered_from_the_cache(
    client: httpx.AsyncClient, account: Account
) -> None:
    first = await generate(client, account, temperature=0)
    second = await generate(client, account, temperature=0)
    different = await generate(client, account, temperature=0, tone="bold")

    assert (first.json()["cached"], second.json()["cached"], different.json()["cached"]) == (
        False,
        True,
        False,
    )
    assert first.json()["variants"] == second.json()["variants"]
    assert first.json()["seed"] == 0
    usage = UsageRead.model_validate((await client.get(USAGE, headers=account.headers)).json())
    assert (usage.requests, usage.cached_requests) == (3, 1)


async def test_above_zero_temperature_asks_for_the_cache_explicitly(
    client: httpx.AsyncClient, account: Account
) -> None:
    plain = [await generate(client, account, temperature=0.9) for _ in range(2)]
    cached = [await generate(client, account, temperature=0.9, cache=True) for _ in range(2)]

    assert [r.json()["cached"] for r in plain] == [False, False]
    assert [r.json()["cached"] for r in cached] == [False, True]


async def test_temperature_is_capped_by_the_settings(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, ai_max_temperature=0.5))
    async with serving(app) as client:
        user = await open_account(client)
        response = await generate(client, user, temperature=1.5)

    assert response.status_code == 200, response.text
    assert response.json()["temperature"] == 0.5


async def test_usage_lists_requests_per_day_provider_and_model(
    client: httpx.AsyncClient, account: Account
) -> None:
    await generate(client, account)
    await generate(client, account, variants=2)
    other = await open_account(client)
    await generate(client, other)

    response = await client.get(USAGE, headers=account.headers, params={"days": 7})

    assert response.status_code == 200, response.text
    usage = UsageRead.model_validate(response.json())
    assert (usage.days, usage.requests, usage.total_tokens, usage.tokens_today) == (7, 2, 0, 0)
    assert usage.daily_token_limit == 200_000
    [day] = usage.by_day
    assert (day.provider, day.model, day.requests) == ("template", "template-v1", 2)


async def test_concurrent_requests_of_one_user_are_all_counted(
    client: httpx.AsyncClient, account: Account
) -> None:
    answers = await asyncio.gather(*(generate(client, account) for _ in range(8)))

    assert [a.status_code for a in answers] == [200] * 8
    usage = (await client.get(USAGE, headers=account.headers)).json()
    assert (usage["requests"], len(usage["by_day"])) == (8, 1)


async def test_a_deleted_accounts_usage_does_not_hold_up_anyone_elses(
    client: httpx.AsyncClient, account: Account
) -> None:
    gone = await open_account(client)
    assert (await generate(client, gone)).status_code == 200
    deleted = await client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=gone.headers
    )
    assert deleted.status_code == 204, deleted.text
    await generate(client, account)

    usage = await client.get(USAGE, headers=account.headers)

    assert usage.status_code == 200, usage.text
    assert usage.json()["requests"] == 1


@pytest.mark.parametrize("days", ["0", "91", "week"])
async def test_usage_days_out_of_range_are_422(
    client: httpx.AsyncClient, account: Account, days: str
) -> None:
    response = await client.get(USAGE, headers=account.headers, params={"days": days})

    assert_problem(response, 422, "validation_error")


async def create_post(client: httpx.AsyncClient, account: Account, body: str) -> dict[str, Any]:
    created = await client.post("/v1/posts", json={"body": body}, headers=account.headers)
    assert created.status_code == 201, created.text
    post: dict[str, Any] = created.json()
    return post


async def rewrite(
    client: httpx.AsyncClient, account: Account, post_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/v1/posts/{post_id}/rewrite", json=body, headers=account.headers)


async def test_fix_formatting_rewrites_a_messy_draft_and_says_what_changed(
    client: httpx.AsyncClient, account: Account
) -> None:
    post = await create_post(client, account, MESSY_DRAFT)

    response = await rewrite(client, account, post["id"], goal="fix_formatting")

    assert response.status_code == 200, response.text
    result = RewriteRead.model_validate(response.json())
    assert result.post_id == uuid.UUID(post["id"])
    assert result.text != MESSY_DRAFT
    assert {"wall_of_text", "long_line", "all_caps"} <= set(result.changes.fixed)
    assert result.changes.score_after > result.changes.score_before
    assert result.changes.score_after == result.analysis.score
    assert result.changes.notes
    assert result.changes.diff.startswith("--- draft\n+++ rewrite")
    # The post is left as it was: the caller decides whether to keep the new text.
    kept = await client.get(f"/v1/posts/{post['id']}", headers=account.headers)
    assert (kept.json()["body"], kept.json()["version"]) == (MESSY_DRAFT, post["version"])


async def test_shorten_answers_a_shorter_text(client: httpx.AsyncClient, account: Account) -> None:
    long_post = (await generate(client, account, length="long", seed=3)).json()["variants"][0]
    post = await create_post(client, account, long_post["text"])

    response = await rewrite(client, account, post["id"], goal="shorten")

    assert response.status_code == 200, response.text
    changes = response.json()["changes"]
    assert changes["characters_after"] < changes["characters_before"]
    assert (
        AnalysisRead.model_validate(response.json()["analysis"]).counts.characters
        == (changes["characters_after"])
    )


async def test_a_tone_goal_changes_the_hook(client: httpx.AsyncClient, account: Account) -> None:
    text = (await generate(client, account, tone="professional", seed=5)).json()["variants"][0]
    post = await create_post(client, account, text["text"])

    response = await rewrite(client, account, post["id"], goal="tone:bold")

    assert response.status_code == 200, response.text
    assert response.json()["goal"] == "tone:bold"
    assert response.json()["text"].splitlines()[0] != text["text"].splitlines()[0]


async def test_rewriting_another_users_post_is_404(
    client: httpx.AsyncClient, account: Account
) -> None:
    post = await create_post(client, account, MESSY_DRAFT)
    stranger = await open_account(client)

    theirs = await rewrite(client, stranger, post["id"], goal="shorten")
    missing = await rewrite(client, account, str(uuid.uuid4()), goal="shorten")

    assert_problem(theirs, 404, "post_not_found")
    assert_problem(missing, 404, "post_not_found")


@pytest.mark.parametrize("goal", ["tone:sarcastic", "longer", "", None])
async def test_an_unknown_goal_is_422(
    client: httpx.AsyncClient, account: Account, goal: str | None
) -> None:
    post = await create_post(client, account, MESSY_DRAFT)

    response = await rewrite(client, account, post["id"], goal=goal)

    assert_problem(response, 422, "validation_error")


async def test_stream_sends_start_deltas_variants_and_done(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        STREAM,
        json={**BRIEF, "variants": 2, "seed": 11, "save": True},
        headers={**account.headers, "Accept-Encoding": "gzip, br, zstd"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers  # events are never held back to compress
    events = events_of(response.content)
    names = [name for name, _ in events]
    assert names == ["start", "delta", "variant", "delta", "variant", "done"]
    assert events[0][1]["seed"] == 11
    variants = [data for name, data in events if name == "variant"]
    deltas = [data for name, data in events if name == "delta"]
    assert [d["text"] for d in deltas] == [v["text"] for v in variants]
    assert all(v["analysis"]["score"] >= 70 for v in variants)
    # The stream writes what POST /v1/generate writes for the same brief and seed.
    same = await generate(client, account, variants=2, seed=11)
    assert [v["text"] for v in variants] == [v["text"] for v in same.json()["variants"]]
    post_ids = events[-1][1]["post_ids"]
    for post_id, variant in zip(post_ids, variants, strict=True):
        post = await client.get(f"/v1/posts/{post_id}", headers=account.headers)
        assert post.json()["body"] == variant["text"]


async def test_stream_refusals_are_problems_before_any_event(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(STREAM, json={**BRIEF, "language": "de"}, headers=account.headers)

    assert_problem(response, 422, "language_not_supported")


async def test_generation_counts_against_the_ai_budget(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, ratelimit_ai="2/minute"))
    async with serving(app) as client:
        hold_the_clock(app)
        user = await open_account(client)
        answers = [await generate(client, user) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    refused = assert_problem(answers[2], 429, "rate_limited")
    assert refused["route_class"] == "ai"
    assert int(answers[2].headers["Retry-After"]) >= 1


async def test_generation_can_be_switched_off(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, ai_enabled=False))
    async with serving(app) as client:
        user = await open_account(client)
        response = await generate(client, user)
        openapi = (await client.get("/openapi.json")).json()

    assert_problem(response, 404, "not_found")
    assert GENERATE not in openapi["paths"]
