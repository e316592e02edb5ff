"""Request ids, X-Process-Time, the access log and redaction, as an operator reads them."""

import re
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from linkedin_posts.config import Settings
from tests.conftest import PASSWORD, assert_problem, make_settings

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    """JSON lines, as production writes them, so a test can read every field (used by `app`)."""
    return make_settings(migrated_url, log_format="json")


@pytest.fixture
def json_app(app: FastAPI) -> FastAPI:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password=hunter2-secret failed")

    return app


@pytest.fixture
def json_client(json_app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The `client` of the JSON-logging app with its failing route."""
    return client


def log_lines(captured: str) -> list[dict[str, Any]]:
    """The service's JSON log lines (the test's own HTTP client logs too, and is left out)."""
    lines = [orjson.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") != "httpx"]


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("logger") == "linkedin_posts.access"]


async def register(client: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """Register and log in; returns the user id and an access token."""
    created = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return created.json()["id"], login.json()["access_token"]


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("req-42.a:b_c", "req-42.a:b_c"),
        ("x" * 129, None),  # too long
        ("two words", None),
        ("evil\u00e9", None),
    ],
)
async def test_a_well_formed_request_id_is_echoed_and_any_other_replaced(
    json_client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    sent: str,
    echoed: str | None,
) -> None:
    response = await json_client.get("/openapi.json", headers={"X-Request-ID": sent.encode()})

    request_id = response.headers["X-Request-ID"]
    if echoed is not None:
        assert request_id == echoed
    else:
        assert GENERATED_ID.fullmatch(request_id)
    [line] = access_lines(log_lines(capsys.readouterr().err))
    assert line["request_id"] == request_id


async def test_every_answer_has_an_id_and_a_process_time(
    json_client: httpx.AsyncClient,
) -> None:
    answers = [
        await json_client.get("/openapi.json"),
        await json_client.get("/no/such/route"),
        await json_client.get("/v1/users/me"),
        await json_client.post(
            "/v1/posts", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
        ),
        await json_client.get("/boom"),
    ]

    assert [a.status_code for a in answers] == [200, 404, 401, 413, 500]
    ids = [a.headers["X-Request-ID"] for a in answers]
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    for answer in answers:
        assert float(answer.headers["X-Process-Time"]) >= 0


async def test_one_access_line_per_request_with_route_template_and_principal(
    json_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    email = "reader@example.com"
    user_id, token = await register(json_client, email)
    created = await json_client.post(
        "/v1/posts", json={"body": "Hello"}, headers={"Authorization": f"Bearer {token}"}
    )
    post_id = created.json()["id"]
    capsys.readouterr()

    response = await json_client.get(
        f"/v1/posts/{post_id}",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me"},
    )

    assert response.status_code == 200
    lines = log_lines(capsys.readouterr().err)
    [line] = access_lines(lines)
    assert line["request_id"] == "trace-me"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/posts/{post_id}"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["user_id"] == user_id
    assert "cache" in line
    # The raw path (with the post id) and the e-mail address are in no line.
    assert post_id not in str(lines)
    assert email not in str(lines)


async def test_routes_are_logged_by_template_and_unmatched_paths_are_not_logged_at_all(
    json_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await json_client.get("/openapi.json")
    await json_client.get("/wp-admin/secret-probe.php")
    await json_client.get("/v1/posts/not-a-uuid")

    lines = access_lines(log_lines(capsys.readouterr().err))
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/openapi.json", 200),
        ("<unmatched>", 404),
        ("/v1/posts/{post_id}", 401),
    ]
    assert "secret-probe" not in str(lines)


async def test_an_api_key_request_logs_the_key_id_not_the_key(
    json_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    user_id, token = await register(json_client, "keyed@example.com")
    created = await json_client.post(
        "/v1/api-keys", json={"name": "ci"}, headers={"Authorization": f"Bearer {token}"}
    )
    key = created.json()
    capsys.readouterr()

    response = await json_client.get("/v1/users/me", headers={"X-API-Key": key["key"]})

    assert response.status_code == 200
    lines = log_lines(capsys.readouterr().err)
    [line] = access_lines(lines)
    assert line["user_id"] == user_id
    assert line["api_key_id"] == key["id"]
    assert key["key"] not in str(lines)


async def test_an_unhandled_error_is_logged_with_its_stack_under_the_request_id(
    json_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await json_client.get("/boom", headers={"X-Request-ID": "crash-1"})

    body = assert_problem(response, 500, "internal_error")
    assert "Traceback" not in response.text
    assert body["instance"] == "/boom"
    lines = [
        line for line in log_lines(capsys.readouterr().err) if line.get("request_id") == "crash-1"
    ]
    [error] = [line for line in lines if line["level"] == "error"]
    assert "Traceback" in error["exception"]
    assert "RuntimeError" in error["exception"]
    # The secret in the exception message is redacted from the logged stack.
    assert "hunter2-secret" not in error["exception"]
    [access] = access_lines(lines)
    assert access["status"] == 500


async def test_no_secret_of_any_kind_reaches_the_log(
    json_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _, token = await register(json_client, "secretive@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    key = (await json_client.post("/v1/api-keys", json={"name": "k"}, headers=auth)).json()["key"]
    await json_client.get("/v1/users/me", headers={"X-API-Key": key, "Cookie": "session=c00k1e"})
    await json_client.get("/v1/users/me", headers={"Authorization": f"Bearer {key}"})
    await json_client.get("/v1/users/me", headers={"Authorization": "Bearer not-a-real-token"})
    await json_client.post("/v1/auth/token", data={"username": "x@example.com", "password": "pw"})
    await json_client.get("/boom")

    captured = capsys.readouterr().err
    assert access_lines(log_lines(captured)), "nothing was logged: the test would prove nothing"
    for secret in (PASSWORD, token, key, "c00k1e", "not-a-real-token", "hunter2-secret"):
        assert secret not in captured


async def test_secrets_logged_by_any_code_are_redacted_by_key_and_by_shape(
    json_app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    import structlog

    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    structlog.get_logger("test").info(
        "outgoing call",
        headers={"Authorization": "Bearer abc", "Cookie": "s=1", "X-API-Key": "k"},
        password="pw-1",
        api_key_id="kept-id",
        url="postgresql://app:db-pass@db/prod",
    )
    logging.getLogger("thirdparty").warning("retrying with token=%s and key lp_%s", jwt, "z" * 20)

    lines = log_lines(capsys.readouterr().err)
    structured = next(line for line in lines if line["event"] == "outgoing call")
    assert structured["headers"] == {
        "Authorization": "[REDACTED]",
        "Cookie": "[REDACTED]",
        "X-API-Key": "[REDACTED]",
    }
    assert structured["password"] == "[REDACTED]"
    assert structured["api_key_id"] == "kept-id"
    assert "db-pass" not in structured["url"]
    plain = next(line for line in lines if line.get("logger") == "thirdparty")
    assert jwt not in plain["event"]
    assert "z" * 20 not in plain["event"]


def test_development_logs_are_readable_lines_and_production_logs_json(migrated_url: str) -> None:
    development = Settings(_env_file=None, env="development", database_url=migrated_url)  # type: ignore[call-arg]
    production = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        database_url=migrated_url,
        secret_key="k" * 40,
    )
    assert not development.log_json
    assert production.log_json
    assert make_settings(migrated_url, log_format="json").log_json
