"""POST /v1/analyze, GET /v1/posts/{id}/analysis and GET /v1/posts/{id}/linkedin-payload."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from linkedin_posts.analysis.rules import RULES
from linkedin_posts.analysis.schemas import AnalysisRead
from linkedin_posts.config import Settings
from linkedin_posts.linkedin.little_text import unescape
from linkedin_posts.main import create_app
from tests.conftest import (
    Account,
    MakeAccount,
    assert_problem,
    make_settings,
    open_account,
    serving,
)
from tests.ratelimit.conftest import hold_the_clock

ANALYZE = "/v1/analyze"
AUTHOR = "urn:li:person:8675309"
DRAFT = (
    "I got rejected 13 times before my first product job.\n\n"
    "Here is what changed (and what didn't):\n"
    "• I stopped sending CVs into the void\n"
    "• I asked people for 20 minutes of their time\n\n"
    "What would you add? #career #hiring"
)


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    # Many analyses per account in this module; the ai budget has its own tests.
    return make_settings(migrated_url, ratelimit_ai="1000/minute")


def analyses_computed() -> float:
    sample = REGISTRY.get_sample_value("lp_analysis_duration_seconds_count", {"executor": "thread"})
    return sample or 0.0


async def analyze(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await client.post(ANALYZE, json=body, headers=account.headers)


async def create_post(client: httpx.AsyncClient, account: Account, body: str) -> str:
    created = await client.post("/v1/posts", json={"body": body}, headers=account.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_analyze_answers_the_whole_analysis(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await analyze(client, account, text=DRAFT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result = AnalysisRead.model_validate_json(response.content)
    assert result.counts.graphemes == len(DRAFT)
    assert result.counts.paragraphs == 3
    assert result.counts.lines == 7
    assert result.language.code == "en"
    assert result.language.source == "detected"
    assert result.hashtags.found == ["#career", "#hiring"]
    assert result.fold.hook == "I got rejected 13 times before my first product job."
    assert result.fold.mobile.hook_fits
    assert result.readability is not None
    assert result.readability.reading_ease_formula == "flesch"
    assert result.keywords
    fired = {finding.rule for finding in result.findings}
    assert "too_short" in fired  # 220 characters
    assert "no_call_to_action" not in fired  # it asks a question
    assert result.score == 100 - sum(RULES[rule].weight for rule in fired)
    assert result.fits_linkedin


async def test_a_given_language_is_used_as_given(
    client: httpx.AsyncClient, account: Account
) -> None:
    text = "Hoy lanzamos la nueva versión de nuestro producto. ¿Qué te parece? 🎉"
    response = await analyze(client, account, text=text, language="es")

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["language"] == {"code": "es", "confidence": 1.0, "source": "given"}
    assert result["sentiment"]["basis"] == "emoji"
    assert result["readability"]["reading_ease_formula"] == "fernandez_huerta"


async def test_the_same_text_is_analysed_once(client: httpx.AsyncClient, account: Account) -> None:
    text = f"A draft about caching, written once and read often. {uuid.uuid4()}"
    before = analyses_computed()

    first = await analyze(client, account, text=text)
    second = await analyze(client, account, text=text)
    other_language = await analyze(client, account, text=text, language="fr")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert other_language.json()["language"]["code"] == "fr"
    assert analyses_computed() - before == 2  # the repeat came from the cache


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"text": ""}, "text"),
        ({"text": " \n\t "}, "text"),
        ({"text": "a\x00b"}, "text"),
        ({"text": "x" * 30_001}, "text"),
        ({"text": "Hello", "language": "xx"}, "language"),
        ({"text": "Hello", "language": "EN"}, "language"),
        ({"text": "Hello", "tone": "bold"}, "tone"),
        ({"text": 42}, "text"),
        ({}, "text"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, account: Account, body: dict[str, Any], where: str
) -> None:
    response = await client.post(ANALYZE, json=body, headers=account.headers)

    problem = assert_problem(response, 422, "validation_error")
    assert any(error["loc"][-1] == where for error in problem["errors"])  # type: ignore[attr-defined]


async def test_analyze_wants_json_and_an_account(
    client: httpx.AsyncClient, account: Account
) -> None:
    form = await client.post(ANALYZE, data={"text": "Hello"}, headers=account.headers)
    anonymous = await client.post(ANALYZE, json={"text": "Hello"})

    assert_problem(form, 415, "unsupported_media_type")
    assert_problem(anonymous, 401, "not_authenticated")


async def test_a_text_over_linkedins_limit_is_analysed_and_flagged(
    client: httpx.AsyncClient, account: Account
) -> None:
    flag = "\U0001f1ea\U0001f1f8"  # one character for LinkedIn, two code points
    response = await analyze(client, account, text="Go " + flag * 2998)

    result = response.json()
    assert response.status_code == 200
    assert result["counts"]["graphemes"] == 3001
    assert not result["fits_linkedin"]
    over = next(f for f in result["findings"] if f["rule"] == "over_limit")
    assert over["severity"] == "error"
    assert (over["start"], over["end"]) == (3 + 2 * 2997, 3 + 2 * 2998)


async def test_post_analysis_is_the_analysis_of_its_current_text(
    client: httpx.AsyncClient, account: Account
) -> None:
    post_id = await create_post(client, account, DRAFT)

    first = await client.get(f"/v1/posts/{post_id}/analysis", headers=account.headers)
    direct = await analyze(client, account, text=DRAFT)
    changed = await client.patch(
        f"/v1/posts/{post_id}",
        json={"body": "NEW RELEASE OUT NOW, GO GET IT https://example.com #follow"},
        headers=account.headers,
    )
    second = await client.get(f"/v1/posts/{post_id}/analysis", headers=account.headers)

    assert first.status_code == 200, first.text
    assert first.content == direct.content
    assert changed.status_code == 200
    fired = {finding["rule"] for finding in second.json()["findings"]}
    assert {"all_caps", "link_in_body", "engagement_bait_hashtag"} <= fired


@pytest.mark.parametrize("path", ["analysis", "linkedin-payload?author=" + AUTHOR])
async def test_someone_elses_post_is_not_found(
    client: httpx.AsyncClient, make_account: MakeAccount, path: str
) -> None:
    owner, intruder = await make_account(), await make_account()
    post_id = await create_post(client, owner, DRAFT)

    theirs = await client.get(f"/v1/posts/{post_id}/{path}", headers=intruder.headers)
    missing = await client.get(f"/v1/posts/{uuid.uuid4()}/{path}", headers=intruder.headers)

    assert_problem(theirs, 404, "post_not_found")
    assert_problem(missing, 404, "post_not_found")
    assert theirs.json()["detail"] == missing.json()["detail"]


async def test_analysis_is_limited_in_the_ai_class(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, ratelimit_ai="2/minute"))
    async with serving(app) as client:
        hold_the_clock(app)
        account = await open_account(client)
        answers = [await analyze(client, account, text="Hello there") for _ in range(3)]
        spec = (await client.get("/openapi.json")).json()

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "2"
    assert assert_problem(answers[2], 429, "rate_limited")["route_class"] == "ai"
    assert spec["paths"]["/v1/analyze"]["post"]["x-rate-limit-class"] == "ai"
    assert spec["paths"]["/v1/posts/{post_id}/analysis"]["get"]["x-rate-limit-class"] == "ai"


@pytest.fixture
async def process_pool_client(migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        make_settings(migrated_url, analysis_executor="process", analysis_preload=True)
    )
    async with serving(app) as client:
        yield client


async def test_a_process_pool_gives_the_same_analysis(
    process_pool_client: httpx.AsyncClient, client: httpx.AsyncClient, account: Account
) -> None:
    text = f"Processes or threads, the answer is the same. What do you think? {uuid.uuid4()}"
    other = await open_account(process_pool_client)

    by_process = await analyze(process_pool_client, other, text=text)
    by_thread = await analyze(client, account, text=text)

    assert by_process.status_code == 200, by_process.text
    assert by_process.json() == by_thread.json()


# The LinkedIn payload


async def test_the_payload_is_what_linkedin_documents(
    client: httpx.AsyncClient, account: Account
) -> None:
    body = "Ship it (today)! #launch with @[Ada](urn:li:person:abc123) C# 50% off_now"
    created = await client.post(
        "/v1/posts", json={"body": body, "visibility": "CONNECTIONS"}, headers=account.headers
    )
    post_id = created.json()["id"]

    response = await client.get(
        f"/v1/posts/{post_id}/linkedin-payload",
        params={"author": AUTHOR},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "author": AUTHOR,
        "commentary": "Ship it \\(today\\)! {hashtag|\\#|launch} with @[Ada](urn:li:person:abc123)"
        " C\\# 50% off\\_now",
        "visibility": "CONNECTIONS",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert unescape(response.json()["commentary"]) == body


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"author": "urn:li:person:"},
        {"author": "urn:li:company:123"},
        {"author": "urn:li:organization:12a"},
        {"author": AUTHOR + "\n"},
        {"author": "ada@example.com"},
    ],
)
async def test_the_payload_needs_an_author_urn(
    client: httpx.AsyncClient, account: Account, query: dict[str, str]
) -> None:
    post_id = await create_post(client, account, DRAFT)

    response = await client.get(
        f"/v1/posts/{post_id}/linkedin-payload", params=query, headers=account.headers
    )

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["query", "author"]  # type: ignore[index]


async def test_an_organization_may_publish(client: httpx.AsyncClient, account: Account) -> None:
    post_id = await create_post(client, account, DRAFT)

    response = await client.get(
        f"/v1/posts/{post_id}/linkedin-payload",
        params={"author": "urn:li:organization:2414183"},
        headers=account.headers,
    )

    assert response.status_code == 200
    assert response.json()["author"] == "urn:li:organization:2414183"
    assert unescape(response.json()["commentary"]) == DRAFT


# A repeated analysis is answered from memory before the framework (cache/front_door.py): it
# must answer exactly as the route does, and leave every other body to the route.


async def test_a_repeated_analysis_answers_as_the_route_did(
    client: httpx.AsyncClient, account: Account
) -> None:
    text = f"Answered twice, computed once. What do you think? {uuid.uuid4()}"
    first = await analyze(client, account, text=text)
    again = await analyze(client, account, text=text)
    zipped = await client.post(
        ANALYZE, json={"text": text}, headers={**account.headers, "Accept-Encoding": "gzip"}
    )

    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == "application/json"
    for name in ("x-request-id", "ratelimit-limit", "x-content-type-options", "vary"):
        assert name in again.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == first.json()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"text": TEXT, "tone": "bold"}', "application/json", 422, "validation_error"),
        ('{"text": TEXT, "language": ""}', "application/json", 422, "validation_error"),
        ('{"text": TEXT, "language": "EN"}', "application/json", 422, "validation_error"),
        ('{"text": TEXT, "language": [[]]}', "application/json", 422, "validation_error"),
        ('{"text": TEXT, "language": {"en": 1}}', "application/json", 422, "validation_error"),
        ('{"text": TEXT', "application/json", 400, "malformed_json"),
        ('{"text": TEXT}', "text/plain", 415, "unsupported_media_type"),
    ],
)
async def test_a_known_text_in_a_body_the_route_refuses_is_refused(
    client: httpx.AsyncClient,
    account: Account,
    body: str,
    content_type: str,
    status: int,
    code: str,
) -> None:
    text = f"Known to the cache. {uuid.uuid4()}"
    assert (await analyze(client, account, text=text)).status_code == 200

    response = await client.post(
        ANALYZE,
        content=body.replace("TEXT", json.dumps(text)),
        headers={**account.headers, "Content-Type": content_type},
    )

    assert_problem(response, status, code)


async def test_a_known_text_sent_in_pieces_or_too_large_is_read_as_the_route_reads_it(
    migrated_url: str,
) -> None:
    app = create_app(make_settings(migrated_url, ratelimit_ai="1000/minute", max_body_bytes=2048))
    text = f"Sent in pieces. {uuid.uuid4()}"
    body = json.dumps({"text": text}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    async with serving(app) as client:
        account = await open_account(client)
        computed = await analyze(client, account, text=text)
        chunked = await client.post(
            ANALYZE,
            content=pieces(),
            headers={**account.headers, "Content-Type": "application/json"},
        )
        padded = await client.post(
            ANALYZE,
            content=body[:-1] + b" " * 2048 + b"}",
            headers={**account.headers, "Content-Type": "application/json"},
        )

    assert chunked.status_code == 200, chunked.text
    assert chunked.content == computed.content
    assert_problem(padded, 413, "payload_too_large")
