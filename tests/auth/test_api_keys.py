"""API keys: shown once, usable as a bearer token or X-API-Key, listed without secrets."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from tests.conftest import (
    Account,
    MakeAccount,
    assert_problem,
    make_settings,
    multi_process_settings,
    serving,
)

KEYS = "/v1/api-keys"
ME = "/v1/users/me"
KEY_LIMIT = 2


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return multi_process_settings(migrated_url)


async def create_key(
    client: httpx.AsyncClient, account: Account, name: str = "ci-pipeline"
) -> httpx.Response:
    return await client.post(KEYS, json={"name": name}, headers=account.headers)


async def new_key(client: httpx.AsyncClient, account: Account, name: str = "ci-pipeline") -> dict:
    response = await create_key(client, account, name)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def limited_client(migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app that allows only KEY_LIMIT active keys per user."""
    app: FastAPI = create_app(make_settings(migrated_url, api_keys_per_user=KEY_LIMIT))
    async with serving(app) as client:
        yield client


async def test_create_returns_the_key_once(client: httpx.AsyncClient, account: Account) -> None:
    response = await create_key(client, account, "ci-pipeline")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body.keys() == {"id", "name", "prefix", "created_at", "key"}
    uuid.UUID(body["id"])
    assert body["name"] == "ci-pipeline"
    assert body["key"].startswith("lp_")
    assert len(body["key"]) >= 40
    assert body["prefix"].startswith("lp_")
    assert body["key"].startswith(body["prefix"])
    assert len(body["prefix"]) < len(body["key"]) // 2
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert hashlib.sha256(body["key"].encode()).hexdigest() not in response.text


async def test_every_key_is_different(client: httpx.AsyncClient, account: Account) -> None:
    keys = [(await new_key(client, account, f"key-{i}"))["key"] for i in range(3)]

    assert len(set(keys)) == 3


@pytest.mark.parametrize("scheme", ["bearer", "x-api-key"])
async def test_a_key_authenticates_its_owner(
    client: httpx.AsyncClient, make_account: MakeAccount, scheme: str
) -> None:
    owner = await make_account()
    await make_account()  # someone else, so "any account" would not pass
    key = (await new_key(client, owner))["key"]
    headers = bearer(key) if scheme == "bearer" else {"X-API-Key": key}

    response = await client.get(ME, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == owner.id
    assert response.json()["email"] == owner.email
    assert key not in response.text


async def test_a_key_can_manage_keys(client: httpx.AsyncClient, account: Account) -> None:
    key = (await new_key(client, account))["key"]

    created = await client.post(KEYS, json={"name": "made-by-a-key"}, headers={"X-API-Key": key})
    listed = await client.get(KEYS, headers=bearer(key))

    assert created.status_code == 201, created.text
    assert {item["name"] for item in listed.json()["items"]} == {"ci-pipeline", "made-by-a-key"}


@pytest.mark.parametrize(
    "headers",
    [
        bearer("lp_" + "A" * 43),
        {"X-API-Key": "lp_" + "A" * 43},
        bearer("lp_"),
        {"X-API-Key": "lp_short"},
    ],
    ids=["bearer-unknown", "header-unknown", "bearer-prefix-only", "header-short"],
)
async def test_an_unknown_key_is_refused(
    client: httpx.AsyncClient, account: Account, headers: dict[str, str]
) -> None:
    await new_key(client, account)

    response = await client.get(ME, headers=headers)

    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "lp_" + "A" * 43 not in response.text


async def test_a_key_with_one_character_changed_is_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    key = (await new_key(client, account))["key"]
    changed = key[:-1] + ("a" if key[-1] != "a" else "b")

    assert (await client.get(ME, headers=bearer(key))).status_code == 200
    assert_problem(await client.get(ME, headers=bearer(changed)), 401, "invalid_token")


async def test_the_list_never_shows_a_key_or_its_hash(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = [await new_key(client, account, name) for name in ("first", "second")]

    response = await client.get(KEYS, headers=account.headers)

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 2
    for item in items:
        assert item.keys() == {"id", "name", "prefix", "created_at"}
    for key in created:
        assert key["key"] not in response.text
        assert key["key"][len(key["prefix"]) :] not in response.text
        assert hashlib.sha256(key["key"].encode()).hexdigest() not in response.text
    assert "hash" not in response.text


async def test_the_list_shows_newest_first_with_what_was_shown_at_creation(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = [await new_key(client, account, f"key-{i}") for i in range(3)]

    items = (await client.get(KEYS, headers=account.headers)).json()["items"]

    expected = [{k: v for k, v in key.items() if k != "key"} for key in reversed(created)]
    assert [item["id"] for item in items] == [key["id"] for key in expected]
    assert [(i["name"], i["prefix"]) for i in items] == [(e["name"], e["prefix"]) for e in expected]


async def test_the_list_is_empty_for_a_new_account(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get(KEYS, headers=account.headers)

    assert response.status_code == 200
    assert response.json() == {"items": []}


async def test_the_list_shows_only_my_keys(
    client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    ana = await make_account()
    bob = await make_account()
    ana_key = await new_key(client, ana, "ana-key")
    await new_key(client, bob, "bob-key")

    items = (await client.get(KEYS, headers=ana.headers)).json()["items"]

    assert [item["id"] for item in items] == [ana_key["id"]]


async def test_revoke_stops_the_key_at_once(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, account: Account
) -> None:
    key = await new_key(client, account, "to-revoke")
    kept = await new_key(client, account, "to-keep")
    for process in (client, second_client):
        assert (await process.get(ME, headers=bearer(key["key"]))).status_code == 200

    revoked = await client.delete(f"{KEYS}/{key['id']}", headers=account.headers)

    assert revoked.status_code == 204
    assert revoked.content == b""
    # On this process and on another one (its own app and pool) alike.
    for process in (client, second_client):
        for headers in (bearer(key["key"]), {"X-API-Key": key["key"]}):
            after = await process.get(ME, headers=headers)
            assert_problem(after, 401, "invalid_token")
            assert key["key"] not in after.text
    # The other key and the session token are untouched.
    assert (await client.get(ME, headers=bearer(kept["key"]))).status_code == 200
    assert (await client.get(ME, headers=account.headers)).status_code == 200


async def test_the_list_shows_only_active_keys(client: httpx.AsyncClient, account: Account) -> None:
    revoked = await new_key(client, account, "revoked")
    active = await new_key(client, account, "active")
    assert (
        await client.delete(f"{KEYS}/{revoked['id']}", headers=account.headers)
    ).status_code == 204

    items = (await client.get(KEYS, headers=account.headers)).json()["items"]

    assert [item["id"] for item in items] == [active["id"]]


async def test_revoking_twice_is_not_found(client: httpx.AsyncClient, account: Account) -> None:
    key = await new_key(client, account)
    assert (await client.delete(f"{KEYS}/{key['id']}", headers=account.headers)).status_code == 204

    again = await client.delete(f"{KEYS}/{key['id']}", headers=account.headers)

    body = assert_problem(again, 404, "api_key_not_found")
    assert body["instance"] == f"{KEYS}/{key['id']}"


async def test_a_key_can_revoke_itself(client: httpx.AsyncClient, account: Account) -> None:
    key = await new_key(client, account)

    response = await client.delete(f"{KEYS}/{key['id']}", headers=bearer(key["key"]))

    assert response.status_code == 204
    assert_problem(await client.get(ME, headers=bearer(key["key"])), 401, "invalid_token")


async def test_revoking_an_unknown_id_is_not_found(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.delete(f"{KEYS}/{uuid.uuid4()}", headers=account.headers)

    assert_problem(response, 404, "api_key_not_found")


async def test_another_users_key_cannot_be_revoked(
    client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    owner = await make_account()
    intruder = await make_account()
    key = await new_key(client, owner)

    response = await client.delete(f"{KEYS}/{key['id']}", headers=intruder.headers)

    # The same answer as for an id that does not exist: nothing tells the intruder it is real.
    body = assert_problem(response, 404, "api_key_not_found")
    unknown = await client.delete(f"{KEYS}/{uuid.uuid4()}", headers=intruder.headers)
    assert body["detail"] == unknown.json()["detail"]
    still = await client.get(ME, headers=bearer(key["key"]))
    assert still.status_code == 200
    assert still.json()["id"] == owner.id
    listed = (await client.get(KEYS, headers=owner.headers)).json()["items"]
    assert [item["id"] for item in listed] == [key["id"]]


@pytest.mark.parametrize("key_id", ["not-a-uuid", "123", "01a2060b-c178-75d4-9335"])
async def test_a_malformed_key_id_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, key_id: str
) -> None:
    response = await client.delete(f"{KEYS}/{key_id}", headers=account.headers)

    body = assert_problem(response, 422, "validation_error")
    assert any(error["loc"] == ["path", "key_id"] for error in body["errors"])


async def test_the_key_limit_is_enforced_on_active_keys(
    limited_client: httpx.AsyncClient,
) -> None:
    client = limited_client
    email = f"limit-{uuid.uuid4().hex[:12]}@example.com"
    assert (
        await client.post("/v1/auth/register", json={"email": email, "password": "pw-12345678"})
    ).status_code == 201
    login = await client.post("/v1/auth/token", data={"username": email, "password": "pw-12345678"})
    account = Account(id="", email=email, token=login.json()["access_token"])
    keys = [await new_key(client, account, f"key-{i}") for i in range(KEY_LIMIT)]

    refused = await create_key(client, account, "one-too-many")

    body = assert_problem(refused, 409, "api_key_limit_reached")
    assert str(KEY_LIMIT) in str(body["detail"])
    assert "key" not in refused.json()
    listed = (await client.get(KEYS, headers=account.headers)).json()["items"]
    assert len(listed) == KEY_LIMIT

    # Revoking one frees a slot.
    revoked = await client.delete(f"{KEYS}/{keys[0]['id']}", headers=account.headers)
    assert revoked.status_code == 204
    assert (await create_key(client, account, "replacement")).status_code == 201
    assert_problem(
        await create_key(client, account, "again-too-many"), 409, "api_key_limit_reached"
    )


async def test_the_key_limit_is_per_user(limited_client: httpx.AsyncClient) -> None:
    client = limited_client
    accounts = []
    for _ in range(2):
        email = f"limit-{uuid.uuid4().hex[:12]}@example.com"
        await client.post("/v1/auth/register", json={"email": email, "password": "pw-12345678"})
        login = await client.post(
            "/v1/auth/token", data={"username": email, "password": "pw-12345678"}
        )
        accounts.append(Account(id="", email=email, token=login.json()["access_token"]))
    ana, bob = accounts
    for i in range(KEY_LIMIT):
        await new_key(client, ana, f"key-{i}")

    assert (await create_key(client, bob, "bobs-first")).status_code == 201


@pytest.mark.parametrize(
    "payload",
    [{}, {"name": ""}, {"name": "x" * 101}, {"name": 5}, {"name": "ok", "scopes": ["all"]}],
    ids=["missing", "empty", "too-long", "not-a-string", "unknown-field"],
)
async def test_create_with_invalid_input_is_a_validation_problem(
    client: httpx.AsyncClient, account: Account, payload: dict
) -> None:
    response = await client.post(KEYS, json=payload, headers=account.headers)

    assert_problem(response, 422, "validation_error")
    assert (await client.get(KEYS, headers=account.headers)).json() == {"items": []}


async def test_create_with_malformed_json_is_a_bad_request(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        KEYS,
        content=b'{"name": ',
        headers={**account.headers, "content-type": "application/json"},
    )

    assert_problem(response, 400, "malformed_json")


async def test_create_with_text_plain_is_unsupported(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        KEYS,
        content=b'{"name": "ci"}',
        headers={**account.headers, "content-type": "text/plain"},
    )

    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", KEYS), ("POST", KEYS), ("DELETE", f"{KEYS}/0199d7a4-0000-7000-8000-000000000000")],
)
async def test_keys_need_authentication(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={"name": "x"} if method == "POST" else None)

    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
