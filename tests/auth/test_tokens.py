"""Access tokens: only a token this server signed, for an existing account, gets in."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from linkedin_posts.config import Settings
from tests.conftest import Account, assert_problem

ME = "/v1/users/me"
OTHER_KEY = "another-server-entirely-0123456789-abcdefgh"


def claims_for(settings: Settings, sub: str, **overrides: Any) -> dict[str, Any]:
    """The claims the server itself would put in a fresh access token, with changes."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def server_key(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


def assert_rejected(response: httpx.Response, token: str) -> None:
    """401 invalid_token, with the challenge, and the token never echoed anywhere."""
    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert body["instance"] == ME
    assert token not in response.text
    for part in token.split("."):
        if len(part) >= 16:
            assert part not in response.text
    assert all(token not in value for value in response.headers.values())


async def test_a_token_built_like_the_server_does_is_accepted(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    # Guards the tests below: each one changes exactly one thing in this token.
    token = sign(claims_for(settings, account.id), server_key(settings))

    response = await me(client, token)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == account.id


async def test_alg_none_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    token = jwt.encode(claims_for(settings, account.id), None, algorithm="none")
    assert token.endswith(".")

    assert_rejected(await me(client, token), token)


async def test_alg_none_with_the_real_signature_attached_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    genuine = sign(claims_for(settings, account.id), server_key(settings))
    _, payload, signature = genuine.split(".")
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}"

    assert_rejected(await me(client, token), token)


async def test_a_token_signed_with_another_key_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    token = sign(claims_for(settings, account.id), OTHER_KEY)

    assert_rejected(await me(client, token), token)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_a_token_with_another_algorithm_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account, algorithm: str
) -> None:
    token = sign(claims_for(settings, account.id), server_key(settings), algorithm)

    assert_rejected(await me(client, token), token)


async def test_a_tampered_payload_is_refused(
    client: httpx.AsyncClient, settings: Settings, make_account
) -> None:
    victim = await make_account()
    attacker = await make_account()
    genuine = sign(claims_for(settings, attacker.id), server_key(settings))
    header, _, signature = genuine.split(".")
    token = f"{header}.{b64(claims_for(settings, victim.id))}.{signature}"

    assert_rejected(await me(client, token), token)


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    now = datetime.now(UTC)
    claims = claims_for(
        settings, account.id, iat=now - timedelta(hours=2), exp=now - timedelta(hours=1)
    )
    token = sign(claims, server_key(settings))

    assert_rejected(await me(client, token), token)


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "some-other-api"},
        {"aud": ["some-other-api"]},
        {"iss": "someone-else"},
        {"typ": "refresh"},
        {"typ": "ACCESS"},
        {"sub": "not-a-uuid"},
        {"sub": 12345},
    ],
    ids=["aud", "aud-list", "iss", "typ-refresh", "typ-case", "sub-not-uuid", "sub-int"],
)
async def test_a_token_with_a_wrong_claim_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account, change: dict[str, Any]
) -> None:
    claims = claims_for(settings, account.id)
    claims.update(change)
    token = sign(claims, server_key(settings))

    assert_rejected(await me(client, token), token)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "iss", "aud", "typ"])
async def test_a_token_missing_a_claim_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account, missing: str
) -> None:
    claims = claims_for(settings, account.id)
    del claims[missing]
    token = sign(claims, server_key(settings))

    assert_rejected(await me(client, token), token)


async def test_a_token_for_an_account_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    token = sign(claims_for(settings, str(uuid.uuid4())), server_key(settings))

    assert_rejected(await me(client, token), token)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "not.a.jwt",
        "a.b",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "%%%.%%%.%%%",
        "x" * 4000,
    ],
    ids=["word", "three-parts", "two-parts", "empty-signature", "empty-payload", "bad-b64", "long"],
)
async def test_a_garbage_token_is_refused(client: httpx.AsyncClient, token: str) -> None:
    assert_rejected(await me(client, token), token)


async def test_a_forged_jwt_sent_as_an_api_key_header_is_refused(
    client: httpx.AsyncClient, settings: Settings, account: Account
) -> None:
    forged = sign(claims_for(settings, account.id), OTHER_KEY)

    refused = await client.get(ME, headers={"X-API-Key": forged})

    assert_rejected(refused, forged)


async def test_a_valid_jwt_is_not_an_api_key(client: httpx.AsyncClient, account: Account) -> None:
    refused = await client.get(ME, headers={"X-API-Key": account.token})

    assert_rejected(refused, account.token)


async def test_a_real_login_token_works_until_it_is_tampered_with(
    client: httpx.AsyncClient, account: Account
) -> None:
    assert (await me(client, account.token)).status_code == 200

    header, payload, signature = account.token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    token = f"{header}.{payload}.{flipped}"

    assert_rejected(await me(client, token), token)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": ""},
        {"X-API-Key": ""},
    ],
    ids=["none", "bearer-no-token", "bearer-empty", "basic", "empty-authorization", "empty-key"],
)
async def test_no_credentials_is_not_authenticated(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(ME, headers=headers)

    body = assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["instance"] == ME


async def test_a_valid_token_for_one_account_never_shows_another(
    client: httpx.AsyncClient, settings: Settings, make_account
) -> None:
    ana = await make_account()
    bob = await make_account()

    response = await me(client, sign(claims_for(settings, bob.id), server_key(settings)))

    assert response.json()["id"] == bob.id
    assert response.json()["email"] == bob.email
    assert ana.email not in response.text
