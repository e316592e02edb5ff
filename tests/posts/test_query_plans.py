"""Every statement the post and account routes run is served by an index, on realistic data.

The routes run against a PostgreSQL database seeded like a live one (thousands of users, tens of
thousands of posts and tag rows, statistics gathered by ANALYZE). The SQL each request sends is
captured on its way to the driver and EXPLAINed with the same parameters: a Seq Scan on one of our
tables means a request whose cost grows with everyone's data, not just the caller's. The planner
is left to its own choices (no enable_seqscan=off): the indexes must win on their own.
"""

import json
import random
import string
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from uuid_utils.compat import uuid7

from linkedin_posts.auth.models import ApiKey, User
from linkedin_posts.main import create_app
from linkedin_posts.posts.models import Post, PostTag
from linkedin_posts.reader import Reader, ReadQuery, Row
from tests.conftest import PASSWORD, make_settings, truncate

OUR_TABLES = {"users", "api_keys", "posts", "post_tags"}
USERS = 2_000  # most accounts have written nothing yet
POSTERS = 200
POSTS_PER_POSTER = 100
MY_POSTS = 150  # the caller's: more than the largest page
AGENCY_POSTS = 5_000  # one account that posts for many clients
RARE_WORD = "kubernetes"  # in a handful of the agency's posts, and nowhere else
CAMPAIGNS = [f"campaign-{n}" for n in range(12)]
TAGS = ["ai", "growth", "hiring", "leadership", "sales", "marketing", "product", "remote"] + [
    f"topic-{n}" for n in range(40)
]
STATUSES = ["draft"] * 10 + ["scheduled"] * 3 + ["published"] * 6 + ["archived"]
WORDS = [
    *("team", "launch", "customers", "learned", "building", "growth", "quarter", "hiring"),
    *("product", "roadmap", "feedback", "market", "pipeline", "founders", "story", "lessons"),
    *("remote", "engineering", "design", "revenue", "community"),
]
NOW = datetime(2026, 11, 1, tzinfo=UTC)
RNG_SEED = 20261101


def id_at(moment: datetime) -> uuid.UUID:
    """A UUIDv7 from that moment, as the app would have minted then."""
    return uuid.UUID(str(uuid7(nanoseconds=int(moment.timestamp() * 1e9))))


def post_rows(rng: random.Random, owner_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    rows = []
    for _ in range(count):
        created = NOW - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        status = rng.choice(STATUSES)
        rows.append(
            {
                "id": id_at(created),
                "owner_id": owner_id,
                "title": " ".join(rng.choices(WORDS, k=rng.randint(2, 8))).capitalize()
                if rng.random() < 0.7
                else None,
                "body": " ".join(rng.choices(WORDS, k=rng.randint(20, 200))),
                "status": status,
                "visibility": rng.choice(["PUBLIC", "PUBLIC", "CONNECTIONS", "LOGGED_IN"]),
                "campaign": rng.choice(CAMPAIGNS) if rng.random() < 0.6 else None,
                "tags": sorted(set(rng.choices(TAGS, k=rng.randint(0, 4)))),
                "scheduled_at": created + timedelta(days=30) if status == "scheduled" else None,
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
    return rows


async def seed(engine: AsyncEngine, me: uuid.UUID, agency: uuid.UUID) -> None:
    """Bulk rows straight into the tables, then fresh statistics."""
    rng = random.Random(RNG_SEED)
    users = [
        {
            "id": id_at(NOW - timedelta(days=rng.randrange(700))),
            "email": f"seed-{n}@example.com",
            "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$"
            + "".join(rng.choices(string.ascii_letters, k=66)),
            "role": "member",
            "is_active": rng.random() < 0.97,
            "created_at": NOW - timedelta(days=rng.randrange(700)),
        }
        for n in range(USERS - 1)
    ]
    keys = [
        {
            "id": uuid.uuid4(),
            "user_id": user["id"],
            "name": f"key {k}",
            "prefix": f"lp_{k:05d}",
            "key_hash": uuid.uuid4().hex + uuid.uuid4().hex,
            "created_at": user["created_at"] + timedelta(days=k),
            "revoked_at": NOW if rng.random() < 0.2 else None,
        }
        for user in users
        for k in range(rng.randint(0, 3))
    ]
    posts = post_rows(rng, me, MY_POSTS)
    for user in users[: POSTERS - 1]:
        posts += post_rows(rng, user["id"], POSTS_PER_POSTER)
    agency_posts = post_rows(rng, agency, AGENCY_POSTS)
    for post in agency_posts[::625]:
        post["body"] += f" {RARE_WORD}"
    posts += agency_posts
    tags = [
        {"post_id": post["id"], "tag": tag, "owner_id": post["owner_id"]}
        for post in posts
        for tag in post["tags"]
    ]
    async with engine.begin() as conn:
        for model, rows in [(User, users), (ApiKey, keys), (Post, posts), (PostTag, tags)]:
            await conn.execute(insert(model.__table__), rows)
        await conn.execute(text("ANALYZE"))


class RecordingReader:
    """The app's own reader, noting each statement and its parameters as they go to asyncpg."""

    def __init__(self, inner: Reader) -> None:
        self.inner = inner
        self.sink: list[tuple[str, Any]] | None = None

    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        if self.sink is not None:
            self.sink.append((query.sql, tuple(params[name] for name in query.param_names)))
        return await self.inner.one(query, **params)

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Seeded:
    engine: AsyncEngine
    reader: RecordingReader
    client: httpx.AsyncClient
    jwt: dict[str, str]
    api_key: str
    agency: dict[str, str]
    my_posts: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str = ""

    def auth(self, kind: str) -> dict[str, str]:
        return {
            "jwt": self.jwt,
            "bearer-key": {"Authorization": f"Bearer {self.api_key}"},
            "x-api-key": {"X-API-Key": self.api_key},
            "agency": self.agency,
        }[kind]


async def sign_up(client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    email = f"planner-{uuid.uuid4().hex[:8]}@example.com"
    created = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return uuid.UUID(created.json()["id"]), {
        "Authorization": f"Bearer {login.json()['access_token']}"
    }


@pytest.fixture(scope="session")
def postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("query plans are PostgreSQL's; SQLite plans with no comparable statistics")


@pytest.fixture(scope="module")
async def seeded(postgresql: None, migrated_url: str) -> AsyncIterator[Seeded]:
    # No cache: every request must reach the database for its statements to be captured.
    app = create_app(make_settings(migrated_url, cache_enabled=False))
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        reader = app.state.reader = RecordingReader(app.state.reader)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                me, jwt = await sign_up(client)
                agency, agency_jwt = await sign_up(client)
                key = await client.post("/v1/api-keys", json={"name": "plans"}, headers=jwt)
                assert key.status_code == 201, key.text

                await seed(engine, me, agency)

                state = Seeded(engine, reader, client, jwt, key.json()["key"], agency_jwt)
                first = await client.get("/v1/posts", params={"limit": 100}, headers=jwt)
                assert first.status_code == 200, first.text
                state.my_posts = first.json()["items"]
                state.next_cursor = first.json()["next_cursor"]
                assert len(state.my_posts) == 100
                assert state.next_cursor
                yield state
        finally:
            await truncate(engine)


@contextmanager
def captured(seeded: Seeded) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) sent to the database meanwhile, in order."""
    engine, reader = seeded.engine, seeded.reader
    statements: list[tuple[str, Any]] = []
    reader.sink = statements

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        # An executemany runs one plan for every row: the first row's parameters stand for all.
        statements.append((statement, parameters[0] if many else parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        reader.sink = None


async def explain(engine: AsyncEngine, statement: str, parameters: Any) -> dict[str, Any]:
    # Same engine, same driver, same $n parameters; EXPLAIN without ANALYZE runs nothing.
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        document = result.scalar_one()
    plan: dict[str, Any] = (json.loads(document) if isinstance(document, str) else document)[0]
    return plan["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def seq_scans(plan: dict[str, Any]) -> list[str]:
    return [
        node["Relation Name"]
        for node in nodes(plan)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in OUR_TABLES
    ]


def indexes_used(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in nodes(plan) if "Index Name" in node}


@dataclass
class Call:
    method: str
    path: Callable[[Seeded], str]
    params: Callable[[Seeded], dict[str, Any]] = lambda _s: {}
    auth: str = "jwt"
    body: Callable[[Seeded], Any] = lambda _s: None
    headers: Callable[[Seeded], dict[str, str]] = lambda _s: {}
    status: int = 200


def posts(_s: Seeded) -> str:
    return "/v1/posts"


def a_tag(s: Seeded) -> str:
    return next(tag for post in s.my_posts for tag in post["tags"])


def a_campaign(s: Seeded) -> str:
    return next(post["campaign"] for post in s.my_posts if post["campaign"])


def a_day(s: Seeded, index: int) -> str:
    return str(s.my_posts[index]["created_at"])


LIST_CALLS = {
    "first page": Call("GET", posts),
    "page of 100": Call("GET", posts, lambda s: {"limit": 100}),
    "next page": Call("GET", posts, lambda s: {"cursor": s.next_cursor}),
    "status": Call("GET", posts, lambda s: {"status": "published"}),
    "campaign": Call("GET", posts, lambda s: {"campaign": a_campaign(s)}),
    "tag": Call("GET", posts, lambda s: {"tag": a_tag(s)}),
    "created after": Call("GET", posts, lambda s: {"created_after": a_day(s, 30)}),
    "created before": Call("GET", posts, lambda s: {"created_before": a_day(s, 30)}),
    "created between": Call(
        "GET", posts, lambda s: {"created_after": a_day(s, 60), "created_before": a_day(s, 10)}
    ),
    "q": Call("GET", posts, lambda s: {"q": "roadmap"}),
    "q two letters": Call("GET", posts, lambda s: {"q": "ro"}),
    "q no match": Call("GET", posts, lambda s: {"q": "zzzqqq"}),
    "status campaign tag": Call(
        "GET",
        posts,
        lambda s: {"status": "draft", "campaign": a_campaign(s), "tag": a_tag(s), "limit": 50},
    ),
    "tag q cursor": Call(
        "GET", posts, lambda s: {"tag": a_tag(s), "q": "team", "cursor": s.next_cursor}
    ),
    "status created cursor": Call(
        "GET",
        posts,
        lambda s: {"status": "draft", "created_after": a_day(s, 99), "cursor": s.next_cursor},
    ),
    "api key as bearer": Call("GET", posts, auth="bearer-key"),
    "api key header": Call("GET", posts, lambda s: {"tag": a_tag(s)}, auth="x-api-key"),
}
OTHER_CALLS = {
    "read post": Call("GET", lambda s: f"/v1/posts/{s.my_posts[0]['id']}"),
    "create post": Call(
        "POST", posts, body=lambda s: {"body": "New one", "tags": ["ai", "new"]}, status=201
    ),
    "update post": Call(
        "PATCH",
        lambda s: f"/v1/posts/{s.my_posts[1]['id']}",
        body=lambda s: {"title": "Edited", "tags": ["edited", "ai"]},
        headers=lambda s: {"If-Match": '"1"'},
    ),
    "delete post": Call(
        "DELETE",
        lambda s: f"/v1/posts/{s.my_posts[2]['id']}",
        headers=lambda s: {"If-Match": '"1"'},
        status=204,
    ),
    "me with jwt": Call("GET", lambda s: "/v1/users/me"),
    "me with api key": Call("GET", lambda s: "/v1/users/me", auth="bearer-key"),
    "api keys": Call("GET", lambda s: "/v1/api-keys"),
}


async def call(seeded: Seeded, spec: Call) -> tuple[httpx.Response, list[tuple[str, Any]]]:
    """Make the request as a user would; return its response and the SQL it ran."""
    with captured(seeded) as statements:
        response = await seeded.client.request(
            spec.method,
            spec.path(seeded),
            params=spec.params(seeded),
            json=spec.body(seeded),
            headers=seeded.auth(spec.auth) | spec.headers(seeded),
        )
    assert response.status_code == spec.status, response.text
    return response, statements


@pytest.mark.parametrize("name", [*LIST_CALLS, *OTHER_CALLS])
async def test_no_request_reads_a_whole_table(seeded: Seeded, name: str) -> None:
    spec = LIST_CALLS.get(name) or OTHER_CALLS[name]
    _, statements = await call(seeded, spec)

    assert statements
    for statement, parameters in statements:
        plan = await explain(seeded.engine, statement, parameters)
        assert seq_scans(plan) == [], f"{statement}\n{json.dumps(plan, indent=1)}"


# Every list query is bounded by the caller: an index that starts with owner_id.
OWNER_INDEXES = {
    index.name for index in Post.__table__.indexes if index.columns[0].name == "owner_id"
}


@pytest.mark.parametrize("q", ["roadmap", "team launch", "Customers", "zzzqqq"])
async def test_text_search_reads_only_the_callers_posts(seeded: Seeded, q: str) -> None:
    _, statements = await call(seeded, Call("GET", posts, lambda s: {"q": q}))

    plan = await explain(seeded.engine, *statements[-1])
    used = indexes_used(plan)
    assert used, json.dumps(plan, indent=1)
    assert used <= OWNER_INDEXES | {"ix_posts_search_trgm"}, json.dumps(plan, indent=1)


async def test_a_rare_word_in_a_large_account_is_found_through_the_trigram_index(
    seeded: Seeded,
) -> None:
    # With thousands of posts to filter, the planner goes to the trigram index, which proves
    # that the query's search expression is the one the index was built on.
    spec = Call("GET", posts, lambda s: {"q": RARE_WORD.upper()}, auth="agency")
    found, statements = await call(seeded, spec)

    assert len(found.json()["items"]) == len(range(0, AGENCY_POSTS, 625))
    plan = await explain(seeded.engine, *statements[-1])
    assert "ix_posts_search_trgm" in indexes_used(plan), json.dumps(plan, indent=1)
    assert seq_scans(plan) == []


@pytest.mark.parametrize("auth", ["jwt", "bearer-key"])
@pytest.mark.parametrize("filters", [{}, {"tag": "ai"}, {"status": "draft", "q": "team"}])
async def test_a_page_of_100_costs_the_queries_of_a_page_of_1(
    seeded: Seeded, auth: str, filters: dict[str, Any]
) -> None:
    small, one = await call(seeded, Call("GET", posts, lambda s: filters | {"limit": 1}, auth=auth))
    large, hundred = await call(
        seeded, Call("GET", posts, lambda s: filters | {"limit": 100}, auth=auth)
    )

    assert len(small.json()["items"]) == 1
    # A full page where the caller has enough posts; more than one post where filters narrow it.
    assert len(large.json()["items"]) == 100 if not filters else len(large.json()["items"]) > 1
    # One query finds the caller, one reads the page: nothing per post.
    assert len(one) == len(hundred) == 2, [statement for statement, _ in hundred]
