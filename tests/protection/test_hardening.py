"""Security headers, trusted hosts and CORS, as a browser or a forged request meets them."""

import re
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from linkedin_posts.config import Settings
from tests.conftest import assert_problem
from tests.protection.conftest import ClientFor

ORIGIN = "https://app.example.com"


def policy(header: str) -> dict[str, list[str]]:
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


async def test_every_answer_carries_the_security_headers(client_for: ClientFor) -> None:
    async with client_for(max_body_bytes=1024) as (_app, client):
        answers = [
            await client.get("/health/live"),
            await client.get("/v1/posts/not-a-uuid"),
            await client.get("/v1/users/me"),
            await client.post("/v1/posts", content=b"x" * 2048),
        ]
    assert [a.status_code for a in answers] == [200, 401, 401, 413]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert policy(answer.headers["Content-Security-Policy"]) == {
            "default-src": ["'none'"],
            "frame-ancestors": ["'none'"],
        }
        assert "Strict-Transport-Security" not in answer.headers


async def test_hsts_is_sent_only_when_served_over_https(client_for: ClientFor) -> None:
    async with client_for(https=True) as (_app, client):
        answer = await client.get("/health/live")
    assert answer.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


async def test_the_docs_policy_allows_everything_the_docs_page_loads(
    client_for: ClientFor,
) -> None:
    async with client_for(docs_enabled=True) as (_app, client):
        page = await client.get("/docs")
    assert page.status_code == 200
    allowed = policy(page.headers["Content-Security-Policy"])
    html = page.text

    def origin_allowed(url: str, directive: str) -> bool:
        parts = urlsplit(url)
        source = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"
        return source in allowed[directive]

    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', html)
    icons = re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
    assert scripts
    assert styles
    assert icons
    assert all(origin_allowed(url, "script-src") for url in scripts), (scripts, allowed)
    assert all(origin_allowed(url, "style-src") for url in styles), (styles, allowed)
    assert all(origin_allowed(url, "img-src") for url in icons), (icons, allowed)
    # The page starts Swagger UI with an inline script, which then fetches the schema.
    assert "<script>" in html
    assert "'unsafe-inline'" in allowed["script-src"]
    assert "'self'" in allowed["connect-src"]
    assert allowed["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.example.com", True),
        ("api.example.com:8443", True),
        ("eu.api.example.com", True),
        ("API.EXAMPLE.COM", True),
        ("example.com", False),
        ("evil.com", False),
        ("api.example.com.evil.com", False),
        ("[::1]:8000", False),
    ],
)
async def test_only_the_trusted_hosts_are_answered(
    client_for: ClientFor, host: str, allowed: bool
) -> None:
    trusted = "api.example.com,*.api.example.com"
    async with client_for(trusted_hosts=trusted, docs_enabled=True) as (_app, client):
        answer = await client.get("/openapi.json", headers={"Host": host})
        probe = await client.get("/health/live", headers={"Host": "10.0.0.7:8000"})
    if allowed:
        assert answer.status_code == 200, answer.text
    else:
        assert_problem(answer, 400, "invalid_host")
        assert answer.headers["X-Frame-Options"] == "DENY"
    # A probe addressed by the pod's IP still gets through.
    assert probe.status_code == 200


async def test_a_preflight_from_an_allowed_origin_is_answered(client_for: ClientFor) -> None:
    async with client_for(cors_origins=f"{ORIGIN},https://other.example.com") as (_app, client):
        answer = await client.options(
            "/v1/posts",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
        )
        simple = await client.get("/v1/users/me", headers={"Origin": ORIGIN})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in answer.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in answer.headers
    # The actual request: the script may read the answer and its request id.
    assert simple.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]


async def test_a_preflight_from_another_origin_is_refused(client_for: ClientFor) -> None:
    async with client_for(cors_origins=ORIGIN) as (_app, client):
        answer = await client.options(
            "/v1/posts",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/health/live", headers={"Origin": "https://evil.example"})
    body = assert_problem(answer, 400, "cors_refused")
    assert "origin" in str(body["detail"]).lower()
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Origin" not in simple.headers


async def test_without_origins_configured_no_cors_header_is_sent(client_for: ClientFor) -> None:
    async with client_for() as (_app, client):
        answer = await client.get("/health/live", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_credentials_with_any_origin_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="LP_CORS_ORIGINS must list origins"):
        Settings(_env_file=None, cors_origins="*", cors_allow_credentials=True)  # type: ignore[call-arg]
