"""DELETE /v1/users/me: the account goes with its keys and posts, and only its owner can do it."""

import httpx

from tests.conftest import PASSWORD, Account, assert_problem

ME = "/v1/users/me"


async def delete_me(
    client: httpx.AsyncClient, headers: dict[str, str], password: str = PASSWORD
) -> httpx.Response:
    return await client.request("DELETE", ME, json={"password": password}, headers=headers)


async def test_the_account_its_keys_and_posts_are_gone(
    client: httpx.AsyncClient, account: Account
) -> None:
    key = (await client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)).json()
    post = (await client.post("/v1/posts", json={"body": "hi"}, headers=account.headers)).json()

    deleted = await delete_me(client, account.headers)

    assert deleted.status_code == 204
    assert_problem(await client.get(ME, headers=account.headers), 401, "invalid_token")
    assert_problem(await client.get(ME, headers={"X-API-Key": key["key"]}), 401, "invalid_token")
    login = await client.post(
        "/v1/auth/token", data={"username": account.email, "password": PASSWORD}
    )
    assert_problem(login, 401, "invalid_credentials")
    # The email is free again, and the new account sees nothing of the old one.
    again = await client.post(
        "/v1/auth/register", json={"email": account.email, "password": PASSWORD}
    )
    assert again.status_code == 201
    token = (
        await client.post("/v1/auth/token", data={"username": account.email, "password": PASSWORD})
    ).json()["access_token"]
    fresh = {"Authorization": f"Bearer {token}"}
    assert_problem(
        await client.get(f"/v1/posts/{post['id']}", headers=fresh), 404, "post_not_found"
    )
    assert (await client.get("/v1/posts", headers=fresh)).json()["items"] == []


async def test_a_wrong_password_deletes_nothing(
    client: httpx.AsyncClient, account: Account
) -> None:
    refused = await delete_me(client, account.headers, password="not the password")

    assert_problem(refused, 403, "password_mismatch")
    assert (await client.get(ME, headers=account.headers)).status_code == 200


async def test_an_api_key_cannot_delete_its_account(
    client: httpx.AsyncClient, account: Account
) -> None:
    key = (await client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)).json()

    refused = await delete_me(client, {"X-API-Key": key["key"]})

    assert_problem(refused, 403, "password_login_required")
    assert (await client.get(ME, headers=account.headers)).status_code == 200


async def test_wrong_passwords_count_toward_the_login_lock_out(
    client: httpx.AsyncClient, account: Account
) -> None:
    answers = [await delete_me(client, account.headers, password="guess") for _ in range(6)]

    assert [a.status_code for a in answers] == [403] * 5 + [429]
    assert_problem(answers[-1], 429, "login_locked")
    # Locked for deletion, as for login; the account and its token are untouched.
    assert_problem(await delete_me(client, account.headers), 429, "login_locked")
    assert (await client.get(ME, headers=account.headers)).status_code == 200


async def test_the_password_is_required(client: httpx.AsyncClient, account: Account) -> None:
    assert_problem(
        await client.request("DELETE", ME, json={}, headers=account.headers),
        422,
        "validation_error",
    )
    assert_problem(await client.delete(ME, headers=account.headers), 415, "unsupported_media_type")
