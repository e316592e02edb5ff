"""Registration, password login and /v1/users/me, as a client sees them."""

import uuid
from datetime import datetime

import httpx
import pytest

from linkedin_posts.config import Settings
from tests.conftest import PASSWORD, Account, MakeAccount, assert_problem

USER_READ_FIELDS = {"id", "email", "role", "is_active", "created_at"}


def unique_email(local: str = "user") -> str:
    return f"{local}-{uuid.uuid4().hex[:12]}@example.com"


async def register(client: httpx.AsyncClient, email: str, password: str = PASSWORD):
    return await client.post("/v1/auth/register", json={"email": email, "password": password})


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD):
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


# --- register ------------------------------------------------------------------------------


async def test_register_returns_the_account_without_any_secret(client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await register(client, email)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body.keys() == USER_READ_FIELDS
    assert body["email"] == email
    assert body["role"] == "member"
    assert body["is_active"] is True
    uuid.UUID(body["id"])
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert PASSWORD not in response.text
    assert "argon2" not in response.text
    assert "hash" not in response.text


async def test_register_lowercases_the_email(client: httpx.AsyncClient) -> None:
    local = f"Ana.Smith-{uuid.uuid4().hex[:8]}"
    response = await register(client, f"{local}@Example.COM")

    assert response.status_code == 201, response.text
    assert response.json()["email"] == f"{local.lower()}@example.com"


@pytest.mark.parametrize("transform", [str, str.upper, str.title], ids=["same", "upper", "title"])
async def test_register_twice_with_the_same_email_in_any_case_is_a_conflict(
    client: httpx.AsyncClient, transform
) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201

    again = await register(client, transform(email), password="another password 123")

    body = assert_problem(again, 409, "email_taken")
    assert body["instance"] == "/v1/auth/register"
    assert "another password 123" not in again.text


async def test_a_rejected_duplicate_does_not_change_the_first_password(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201
    assert (await register(client, email, password="another password 123")).status_code == 409

    assert (await login(client, email)).status_code == 200
    assert_problem(
        await login(client, email, password="another password 123"), 401, "invalid_credentials"
    )


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, ["body", "email"]),
        ({"email": "ana@", "password": PASSWORD}, ["body", "email"]),
        ({"email": "", "password": PASSWORD}, ["body", "email"]),
        ({"email": "ana@example.com", "password": "s3cr3t!"}, ["body", "password"]),
        ({"email": "ana@example.com", "password": "x" * 257}, ["body", "password"]),
        ({"email": "ana@example.com"}, ["body", "password"]),
        ({"password": PASSWORD}, ["body", "email"]),
        (
            {"email": "ana@example.com", "password": PASSWORD, "role": "admin"},
            ["body", "role"],
        ),
        ([{"email": "ana@example.com", "password": PASSWORD}], ["body"]),
    ],
    ids=[
        "not-an-email",
        "no-domain",
        "empty-email",
        "short-password",
        "long-password",
        "missing-password",
        "missing-email",
        "unknown-field",
        "not-an-object",
    ],
)
async def test_register_with_invalid_input_is_a_validation_problem(
    client: httpx.AsyncClient, payload: object, loc: list[str]
) -> None:
    response = await client.post("/v1/auth/register", json=payload)

    body = assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    assert any(error["loc"] == loc for error in errors), errors
    for error in errors:
        # Only where, what and why: never the submitted value, which may be a password.
        assert error.keys() == {"loc", "msg", "type"}
    assert "s3cr3t!" not in response.text
    assert "x" * 257 not in response.text


async def test_register_with_invalid_input_creates_no_account(client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await client.post("/v1/auth/register", json={"email": email, "password": "short"})
    assert response.status_code == 422

    assert_problem(await login(client, email, "short"), 401, "invalid_credentials")
    assert (await register(client, email)).status_code == 201


@pytest.mark.parametrize(
    "content", [b'{"email": "ana@example.com", "password": ', b"{'a': 1}", b"nul\x00l"]
)
async def test_register_with_malformed_json_is_a_bad_request(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/v1/auth/register", content=content, headers={"content-type": "application/json"}
    )

    body = assert_problem(response, 400, "malformed_json")
    assert body["instance"] == "/v1/auth/register"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_register_with_another_media_type_is_unsupported(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    email = unique_email()
    headers = {"content-type": content_type} if content_type else {}
    # A JSON document sent under the wrong label is still refused: the label is the contract.
    content = f'{{"email": "{email}", "password": "{PASSWORD}"}}'.encode()
    response = await client.post("/v1/auth/register", content=content, headers=headers)

    assert_problem(response, 415, "unsupported_media_type")
    assert_problem(await login(client, email), 401, "invalid_credentials")


async def test_register_accepts_a_json_media_type_with_parameters(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    response = await client.post(
        "/v1/auth/register",
        content=f'{{"email": "{email}", "password": "{PASSWORD}"}}'.encode(),
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["email"] == email


# --- token ---------------------------------------------------------------------------------


async def test_login_with_a_form_returns_a_bearer_token(client: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201

    response = await login(client, email)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.keys() == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == Settings.model_fields["access_token_ttl_seconds"].default
    assert body["access_token"].count(".") == 2
    assert PASSWORD not in response.text


async def test_login_is_case_insensitive_on_the_email(client: httpx.AsyncClient) -> None:
    email = unique_email("Mixed.Case")
    created = await register(client, email)
    assert created.status_code == 201

    for spelling in (email.lower(), email.upper(), f"  {email}  "):
        response = await login(client, spelling)
        assert response.status_code == 200, (spelling, response.text)
        me = await client.get(
            "/v1/users/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.json()["id"] == created.json()["id"]


async def test_login_password_is_case_sensitive(client: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201

    assert_problem(await login(client, email, PASSWORD.upper()), 401, "invalid_credentials")


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201

    wrong_password = await login(client, email, "not the password")
    unknown_email = await login(client, unique_email(), "not the password")

    for response in (wrong_password, unknown_email):
        assert_problem(response, 401, "invalid_credentials")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "not the password" not in response.text
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]
    assert email not in wrong_password.text


async def test_a_nul_in_the_email_is_only_a_failed_login(client: httpx.AsyncClient) -> None:
    # PostgreSQL refuses a NUL in a text parameter; the schema fuzzer found it as a 500.
    response = await login(client, "b\x00@example.com", "b\x00")

    assert_problem(response, 401, "invalid_credentials")


@pytest.mark.parametrize(
    "data",
    [{"username": "ana@example.com"}, {"password": PASSWORD}, {}],
    ids=["no-password", "no-username", "empty"],
)
async def test_login_with_missing_fields_is_a_validation_problem(
    client: httpx.AsyncClient, data: dict[str, str]
) -> None:
    response = await client.post("/v1/auth/token", data=data)

    assert_problem(response, 422, "validation_error")


async def test_login_with_json_instead_of_a_form_is_refused(client: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await register(client, email)).status_code == 201

    response = await client.post("/v1/auth/token", json={"username": email, "password": PASSWORD})

    # OAuth2's token endpoint takes a form (RFC 6749 section 4.3), so a JSON body has no fields.
    assert_problem(response, 422, "validation_error")
    assert "access_token" not in response.text


# --- /v1/users/me ----------------------------------------------------------------------------


async def test_me_with_a_jwt_returns_the_account(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get("/v1/users/me", headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.keys() == USER_READ_FIELDS
    assert body["id"] == account.id
    assert body["email"] == account.email
    assert body["role"] == "member"
    assert body["is_active"] is True


async def test_me_tells_accounts_apart(
    client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    ana = await make_account()
    bob = await make_account()

    ana_me = await client.get("/v1/users/me", headers=ana.headers)
    bob_me = await client.get("/v1/users/me", headers=bob.headers)

    assert ana_me.json()["id"] == ana.id
    assert bob_me.json()["id"] == bob.id
    assert ana.id != bob.id


async def test_me_without_credentials_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/users/me")

    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
