"""Rate limits as a client sees them: headers, 429s, classes, principals, addresses, lock-outs."""

import uuid

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.ratelimit.dependencies import AI_ROUTE
from tests.conftest import PASSWORD, assert_problem, open_account
from tests.ratelimit.conftest import ClientFor, limit_headers


def rejected(route_class: str) -> float:
    sample = REGISTRY.get_sample_value("lp_ratelimit_rejected_total", {"route_class": route_class})
    return sample or 0.0


async def test_reads_count_down_then_get_a_429_that_says_when_to_retry(
    client_for: ClientFor,
) -> None:
    async with client_for(ratelimit_read="3/minute") as client:
        account = await open_account(client)
        before = rejected("read")

        admitted = [await client.get("/v1/posts", headers=account.headers) for _ in range(3)]
        refused = await client.get("/v1/posts", headers=account.headers)

    assert [r.status_code for r in admitted] == [200, 200, 200]
    assert [limit_headers(r)[:2] for r in admitted] == [(3, 2), (3, 1), (3, 0)]
    assert all(0 < limit_headers(r)[2] <= 60 for r in admitted)
    body = assert_problem(refused, 429, "rate_limited")
    assert body["route_class"] == "read"
    assert limit_headers(refused)[:2] == (3, 0)
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    assert rejected("read") == before + 1


async def test_writes_have_a_budget_of_their_own(client_for: ClientFor) -> None:
    async with client_for(ratelimit_read="1/minute", ratelimit_write="2/minute") as client:
        account = await open_account(client)
        assert (await client.get("/v1/posts", headers=account.headers)).status_code == 200
        assert (await client.get("/v1/posts", headers=account.headers)).status_code == 429

        post = {"body": "Limits are per class."}
        created = await client.post("/v1/posts", json=post, headers=account.headers)

    assert created.status_code == 201, created.text
    assert limit_headers(created)[:2] == (2, 1)


async def test_a_route_marked_ai_counts_in_the_ai_class(client_for: ClientFor) -> None:
    def build(app: FastAPI) -> None:
        @app.post("/v1/expensive", openapi_extra=AI_ROUTE)
        async def expensive(user: CurrentUser) -> dict[str, str]:
            return {"for": user.email}

    async with client_for(build, ratelimit_ai="1/minute", ratelimit_write="5/minute") as client:
        account = await open_account(client)
        answers = [await client.post("/v1/expensive", headers=account.headers) for _ in range(2)]
        spec = (await client.get("/openapi.json")).json()

    assert [r.status_code for r in answers] == [200, 429]
    assert limit_headers(answers[0])[:2] == (1, 0)
    assert assert_problem(answers[1], 429, "rate_limited")["route_class"] == "ai"
    assert spec["paths"]["/v1/expensive"]["post"]["x-rate-limit-class"] == "ai"


async def test_errors_of_a_limited_route_carry_the_headers_too(client_for: ClientFor) -> None:
    async with client_for(ratelimit_read="5/minute") as client:
        account = await open_account(client)
        missing = await client.get(f"/v1/posts/{uuid.uuid4()}", headers=account.headers)
        invalid = await client.get("/v1/posts?limit=0", headers=account.headers)

    assert missing.status_code == 404
    assert limit_headers(missing)[:2] == (5, 4)
    assert invalid.status_code == 422
    assert limit_headers(invalid)[:2] == (5, 3)


async def test_each_api_key_has_its_own_budget(client_for: ClientFor) -> None:
    async with client_for(ratelimit_read="2/minute") as client:
        account = await open_account(client)
        created = await client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)
        key = {"X-API-Key": created.json()["key"]}
        by_token = [(await client.get("/v1/posts", headers=account.headers)) for _ in range(3)]
        by_key = await client.get("/v1/posts", headers=key)

    assert [r.status_code for r in by_token] == [200, 200, 429]
    assert by_key.status_code == 200
    assert limit_headers(by_key)[:2] == (2, 1)


async def test_auth_is_limited_per_address_and_a_forged_forwarded_for_changes_nothing(
    client_for: ClientFor,
) -> None:
    async with client_for(ratelimit_auth="3/minute") as client:
        answers = [
            await client.post(
                "/v1/auth/token",
                data={"username": f"{n}@example.com", "password": "wrong password"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            for n in range(4)
        ]

    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert [limit_headers(r)[1] for r in answers] == [2, 1, 0, 0]
    assert assert_problem(answers[3], 429, "rate_limited")["route_class"] == "auth"


async def test_behind_a_trusted_proxy_each_client_address_has_its_budget(
    client_for: ClientFor,
) -> None:
    # The test client connects from 127.0.0.1, here the proxy.
    async with client_for(ratelimit_auth="2/minute", trusted_proxies="127.0.0.1/32") as client:

        async def login_from(address: str) -> int:
            response = await client.post(
                "/v1/auth/token",
                data={"username": "nobody@example.com", "password": "wrong password"},
                headers={"X-Forwarded-For": f"6.6.6.6, {address}"},
            )
            return response.status_code

        first = [await login_from("198.51.100.1") for _ in range(3)]
        second = await login_from("198.51.100.2")

    assert first == [401, 401, 429]
    assert second == 401


async def test_failed_logins_lock_the_account_even_for_the_right_password(
    client_for: ClientFor,
) -> None:
    async with client_for(login_lockout_after=3, ratelimit_auth="100/minute") as client:
        victim = await open_account(client)
        bystander = await open_account(client)

        async def login(email: str, password: str) -> httpx.Response:
            form = {"username": email, "password": password}
            return await client.post("/v1/auth/token", data=form)

        failures = [(await login(victim.email, "guess")).status_code for _ in range(3)]
        locked = await login(victim.email, PASSWORD)
        other = await login(bystander.email, PASSWORD)
        unknown = [(await login("ghost@example.com", "guess")).status_code for _ in range(4)]

    assert failures == [401, 401, 401]
    assert_problem(locked, 429, "login_locked")
    assert locked.headers["Retry-After"] == "30"
    assert "access_token" not in locked.text
    assert other.status_code == 200
    # An account that does not exist locks the same way: a lock-out reveals nothing.
    assert unknown == [401, 401, 401, 429]


async def test_the_process_ceiling_refuses_every_identity(client_for: ClientFor) -> None:
    # Per hour: a minute window could roll over between these requests on a slow machine.
    async with client_for(ratelimit_process="5/hour") as client:
        first = await open_account(client)  # 2 requests
        second = await open_account(client)  # 4
        admitted = await client.get("/v1/posts", headers=first.headers)
        refused = await client.get("/v1/posts", headers=second.headers)

    assert admitted.status_code == 200
    body = assert_problem(refused, 429, "rate_limited")
    assert body["route_class"] == "global"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


async def test_with_limits_off_nothing_is_counted_or_refused(client_for: ClientFor) -> None:
    async with client_for(ratelimit_enabled=False, ratelimit_read="1/minute") as client:
        account = await open_account(client)
        answers = [await client.get("/v1/posts", headers=account.headers) for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert "RateLimit-Limit" not in answers[0].headers


async def test_probes_and_the_spec_are_not_limited(client_for: ClientFor) -> None:
    async with client_for(ratelimit_process="1/minute") as client:
        answers = [await client.get(path) for path in ("/health/live", "/openapi.json") * 2]

    assert [r.status_code for r in answers] == [200, 200, 200, 200]
    assert all("RateLimit-Limit" not in r.headers for r in answers)
