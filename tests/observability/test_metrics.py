"""GET /metrics as Prometheus and an operator see it: request counts by route, pool use, access."""

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from linkedin_posts.main import create_app
from tests.conftest import Account, assert_problem, make_settings

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
POST_ROUTE = "/v1/posts/{post_id}"
OUTSIDE = ("203.0.113.9", 1234)
TOKEN = "metrics-token-0123456789abcdef"

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by sample name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def requests_by_route(samples: Samples) -> Counter[tuple[str, str, str]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for (name, labels), count in samples.items():
        if name == "lp_http_requests_total":
            label = dict(labels)
            counts[(label["method"], label["route"], label["status"])] = int(count)
    return counts


@asynccontextmanager
async def client_of(
    migrated_url: str, *, client: tuple[str, int] = ("127.0.0.1", 123), **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with these settings, connecting from the `client` address."""
    app = create_app(make_settings(migrated_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def create_post(client: httpx.AsyncClient, account: Account) -> str:
    response = await client.post("/v1/posts", json={"body": "Metrics"}, headers=account.headers)
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    return post_id


# --- what a scrape shows -------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, account: Account
) -> None:
    before = await scrape(client)

    first = await create_post(client, account)
    await create_post(client, account)
    for _ in range(3):
        assert (await client.get(f"/v1/posts/{first}", headers=account.headers)).status_code == 200
    missing = await client.get(f"/v1/posts/{uuid.uuid4()}", headers=account.headers)
    assert missing.status_code == 404
    unmatched = await client.get(f"/wp-admin/{uuid.uuid4()}/setup.php")
    assert unmatched.status_code == 404

    after = await scrape(client)
    delta = requests_by_route(after) - requests_by_route(before)
    assert delta == {
        ("POST", "/v1/posts", "201"): 2,
        ("GET", POST_ROUTE, "200"): 3,
        ("GET", POST_ROUTE, "404"): 1,
        ("GET", "<unmatched>", "404"): 1,
        # The first scrape: a request is counted once its response has been sent.
        ("GET", "/metrics", "200"): 1,
    }


async def test_no_label_carries_an_id_or_a_raw_path(
    client: httpx.AsyncClient, account: Account
) -> None:
    post_id = await create_post(client, account)
    await client.get(f"/v1/posts/{post_id}", headers=account.headers)
    await client.get(f"/v1/posts/{post_id}/nothing-here")
    await client.request("BREW", f"/v1/posts/{post_id}")

    samples = await scrape(client)

    label_values = {value for _name, labels in samples for _label, value in labels}
    assert POST_ROUTE in label_values
    assert "OTHER" in label_values
    assert not [v for v in label_values if UUID_RE.search(v) or "nothing-here" in v]
    assert "BREW" not in label_values


async def test_request_durations_are_observed_per_route(
    client: httpx.AsyncClient, account: Account
) -> None:
    post_id = await create_post(client, account)
    series = {"method": "GET", "route": POST_ROUTE}
    before = await scrape(client)

    for _ in range(4):
        await client.get(f"/v1/posts/{post_id}", headers=account.headers)

    after = await scrape(client)
    name = "lp_http_request_duration_seconds"

    def delta(sample: str, **extra: str) -> float:
        labels = series | extra
        return value(after, sample, **labels) - before.get(
            (sample, tuple(sorted(labels.items()))), 0.0
        )

    assert delta(f"{name}_count") == 4
    assert delta(f"{name}_bucket", le="+Inf") == 4
    assert delta(f"{name}_sum") > 0


async def test_the_scrape_is_prometheus_text_and_not_in_the_api_description(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    samples = parse(response.text)
    assert value(samples, "lp_http_requests_in_flight") >= 1
    assert [labels for name, labels in samples if name == "lp_build_info"]
    spec = await client.get("/openapi.json")
    assert "/metrics" not in spec.json()["paths"]


# --- database pool -------------------------------------------------------------------------


async def test_pool_gauges_follow_connections_in_use(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    idle = await scrape(client)
    assert value(idle, "lp_db_pool_size") == app.state.settings.db_pool_size
    assert value(idle, "lp_db_pool_connections_in_use") == 0
    assert value(idle, "lp_db_pool_overflow") == 0

    # A connection held the way a long request holds it.
    async with app.state.engine.connect():
        busy = await scrape(client)

    assert value(busy, "lp_db_pool_connections_in_use") == 1
    assert value(await scrape(client), "lp_db_pool_connections_in_use") == 0


async def test_pool_gauges_count_overflow_connections(migrated_url: str) -> None:
    app = create_app(make_settings(migrated_url, db_pool_size=1, db_pool_max_overflow=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            engine = app.state.engine
            async with engine.connect(), engine.connect():
                full = await scrape(client)
            returned = await scrape(client)

    assert value(full, "lp_db_pool_size") == 1
    assert value(full, "lp_db_pool_connections_in_use") == 2
    assert value(full, "lp_db_pool_overflow") == 1
    # The pool closes the overflow connection as it comes back and keeps the other.
    assert value(returned, "lp_db_pool_connections_in_use") == 0
    assert value(returned, "lp_db_pool_overflow") == 0


# --- who may scrape ------------------------------------------------------------------------


async def test_an_outside_peer_without_the_token_is_refused(migrated_url: str) -> None:
    async with client_of(migrated_url, client=OUTSIDE, metrics_token=TOKEN) as client:
        plain = await client.get("/metrics")
        # The header a proxy would add, sent by the client itself: not trusted.
        forged = await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})

    for response in (plain, forged):
        body = assert_problem(response, 403, "metrics_forbidden")
        assert TOKEN not in response.text
        assert "lp_http_requests_total" not in str(body)


async def test_an_outside_peer_with_the_token_may_scrape(migrated_url: str) -> None:
    async with client_of(migrated_url, client=OUTSIDE, metrics_token=TOKEN) as client:
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        other_scheme = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})

    assert allowed.status_code == 200
    assert "lp_http_requests_total" in allowed.text
    assert_problem(wrong, 403, "metrics_forbidden")
    assert_problem(other_scheme, 403, "metrics_forbidden")


async def test_without_a_configured_token_no_bearer_opens_it(migrated_url: str) -> None:
    async with client_of(migrated_url, client=OUTSIDE) as client:
        response = await client.get("/metrics", headers={"Authorization": "Bearer "})

    assert_problem(response, 403, "metrics_forbidden")


async def test_allowed_networks_are_configurable(migrated_url: str) -> None:
    async with client_of(migrated_url, client=OUTSIDE, metrics_allow="203.0.113.0/24") as c:
        outside = await c.get("/metrics")
    async with client_of(migrated_url, metrics_allow="203.0.113.0/24") as c:
        loopback = await c.get("/metrics")
    # How a dual-stack (::) listener reports an IPv4 loopback client.
    async with client_of(migrated_url, client=("::ffff:127.0.0.1", 1234)) as c:
        mapped = await c.get("/metrics")

    assert outside.status_code == 200
    assert_problem(loopback, 403, "metrics_forbidden")
    assert mapped.status_code == 200


async def test_metrics_disabled_serves_no_endpoint(migrated_url: str) -> None:
    async with client_of(migrated_url, metrics_enabled=False) as client:
        response = await client.get("/metrics")

    assert_problem(response, 404, "not_found")
