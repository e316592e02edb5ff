"""GET /v1/posts/export: the caller's posts as one CSV or JSON file, which imports back as it is."""

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from linkedin_posts.database import sessions_of
from linkedin_posts.ids import new_id
from linkedin_posts.jobs.importing import parse_import
from linkedin_posts.posts import csv_cells, export
from linkedin_posts.posts.models import Post
from tests.conftest import Account, MakeAccount, assert_problem
from tests.posts.conftest import POSTS, CreatePost, iso_in, walk

EXPORT = f"{POSTS}/export"
HEADER = "id,title,body,status,visibility,campaign,tags,scheduled_at,created_at,updated_at"
ROCKET = "\U0001f680"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
# What makes CSV hard: a comma, quotes, both kinds of line break, emoji, a leading space.
TRICKY_BODY = (
    f' Big news, everyone! We said "ship it"\nand shipped.\r\n\n{ROCKET} {FAMILY}, "done", ok'
)
IMPORTED_FIELDS = ("body", "title", "status", "visibility", "campaign", "tags", "scheduled_at")


async def _my_posts(create_post: CreatePost, account: Account) -> list[dict[str, Any]]:
    """Three posts of every kind, oldest first, as the API answered them."""
    return [
        await create_post(account, body="Plain first post"),
        await create_post(
            account,
            body=TRICKY_BODY,
            title='Title, with "quotes"',
            tags=["launch", "AI", "caf\u00e9"],
            campaign="spring, 2026",
            visibility="CONNECTIONS",
        ),
        await create_post(
            account, body="Later", status="scheduled", scheduled_at=iso_in(days=2), tags=["x"]
        ),
    ]


def _exported(post: dict[str, Any]) -> dict[str, Any]:
    """A post as the export writes it: as the API reads it, without the version."""
    return {name: post[name] for name in export.COLUMNS}


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))


def _assert_attachment(response: httpx.Response, extension: str) -> None:
    disposition = response.headers["content-disposition"]
    named = re.fullmatch(rf'attachment; filename="posts-(.+)\.{extension}"', disposition)
    assert named is not None, disposition
    # Today's date (UTC), or yesterday's for a request that crossed midnight.
    age = datetime.now(UTC).date() - date.fromisoformat(named.group(1))
    assert age in (timedelta(0), timedelta(days=1))


async def test_csv_holds_exactly_my_posts_newest_first(
    client: httpx.AsyncClient, account: Account, make_account: MakeAccount, create_post: CreatePost
) -> None:
    mine = await _my_posts(create_post, account)
    other = await make_account()
    await create_post(other, body="Someone else's post")

    response = await client.get(EXPORT, params={"format": "csv"}, headers=account.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    _assert_attachment(response, "csv")
    assert response.content.startswith(HEADER.encode() + b"\r\n")  # UTF-8, no BOM, RFC 4180
    rows = _csv_rows(response)
    expected = [
        {
            **{name: "" if post[name] is None else str(post[name]) for name in export.COLUMNS},
            "tags": ", ".join(post["tags"]),
        }
        for post in reversed(mine)
    ]
    assert rows == expected
    assert rows[1]["body"] == TRICKY_BODY
    assert rows[1]["tags"] == "launch, ai, caf\u00e9"


async def test_json_is_the_default_and_holds_exactly_my_posts_newest_first(
    client: httpx.AsyncClient, account: Account, make_account: MakeAccount, create_post: CreatePost
) -> None:
    mine = await _my_posts(create_post, account)
    other = await make_account()
    await create_post(other, body="Someone else's post")

    response = await client.get(EXPORT, headers=account.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    _assert_attachment(response, "json")
    assert response.json() == [_exported(post) for post in reversed(mine)]
    # The same posts, in the same order, as the listing shows them.
    listed = await walk(client, account.headers)
    assert response.json() == [_exported(post) for post in listed]


@pytest.mark.parametrize("export_format", ["csv", "json"])
async def test_an_export_imports_back_as_the_same_posts(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost, export_format: str
) -> None:
    mine = await _my_posts(create_post, account)
    response = await client.get(EXPORT, params={"format": export_format}, headers=account.headers)
    assert response.status_code == 200, response.text
    filename = re.search(r'filename="(.+)"', response.headers["content-disposition"])
    assert filename is not None

    rows = parse_import(
        response.content,
        filename=filename.group(1),
        content_type=response.headers["content-type"],
    )

    assert [row.error for row in rows] == [None, None, None]
    assert [row.row for row in rows] == [1, 2, 3]
    assert [row.post for row in rows] == [
        {name: post[name] for name in IMPORTED_FIELDS} for post in reversed(mine)
    ]


async def test_cells_a_spreadsheet_would_run_are_written_as_text_and_import_back(
    client: httpx.AsyncClient, account: Account, create_post: CreatePost
) -> None:
    mine = [
        await create_post(account, body='=HYPERLINK("http://x.example","click")', title="@team"),
        await create_post(account, body="- first point\n- second", campaign="+1 launch"),
        await create_post(account, body="'=already quoted", tags=["-launch", "ai"]),
    ]
    response = await client.get(EXPORT, params={"format": "csv"}, headers=account.headers)

    written = [(r["body"], r["title"], r["campaign"], r["tags"]) for r in _csv_rows(response)]
    assert written == [
        ("''=already quoted", "", "", "'-launch, ai"),
        ("'- first point\n- second", "", "'+1 launch", ""),
        ('\'=HYPERLINK("http://x.example","click")', "'@team", "", ""),
    ]
    rows = parse_import(response.content, filename="posts.csv", content_type="text/csv")
    assert [row.post for row in rows] == [
        {name: post[name] for name in IMPORTED_FIELDS} for post in reversed(mine)
    ]


@pytest.mark.parametrize(
    "text", ["", "plain", "=1+1", "+x", "-", "@me", "\tx", "\rx", "'", "'=x", "''@x", "x=1", "'x"]
)
def test_as_text_never_starts_a_formula_and_from_text_undoes_it(text: str) -> None:
    written = csv_cells.as_text(text)
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csv_cells.from_text(written) == text


@pytest.mark.parametrize(("export_format", "empty"), [("csv", HEADER + "\r\n"), ("json", "[]")])
async def test_an_account_without_posts_exports_an_empty_file(
    client: httpx.AsyncClient, account: Account, export_format: str, empty: str
) -> None:
    response = await client.get(EXPORT, params={"format": export_format}, headers=account.headers)

    assert response.status_code == 200, response.text
    assert response.text == empty


async def test_many_posts_cross_the_batch_boundaries_once_each(
    app: FastAPI, client: httpx.AsyncClient, account: Account, make_account: MakeAccount
) -> None:
    other = await make_account()
    count = 2 * export.BATCH_SIZE + 200
    ids = [new_id() for _ in range(count)]
    # Straight into the database: 1,200 posts through the API would take the whole test budget.
    async with app.state.session_factory() as session:
        await session.execute(
            insert(Post),
            [
                {"id": post_id, "owner_id": uuid.UUID(account.id), "body": f"post {n}", "tags": []}
                for n, post_id in enumerate(ids)
            ]
            + [{"id": new_id(), "owner_id": uuid.UUID(other.id), "body": "theirs", "tags": []}],
        )
        await session.commit()

    as_json = await client.get(EXPORT, headers=account.headers)
    as_csv = await client.get(EXPORT, params={"format": "csv"}, headers=account.headers)

    newest_first = [str(post_id) for post_id in reversed(ids)]
    assert [post["id"] for post in as_json.json()] == newest_first
    assert [row["id"] for row in _csv_rows(as_csv)] == newest_first
    assert as_json.json()[-1]["body"] == "post 0"


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5])
async def test_batches_of_any_fill_make_one_valid_file(
    app: FastAPI, account: Account, count: int
) -> None:
    # Batches of 2: an empty last batch (count 2, 4) must not leave a stray comma or bracket.
    owner = uuid.UUID(account.id)
    ids = [new_id() for _ in range(count)]
    if ids:
        async with app.state.session_factory() as session:
            await session.execute(
                insert(Post),
                [{"id": i, "owner_id": owner, "body": f"post {i}", "tags": []} for i in ids],
            )
            await session.commit()
    sessions = sessions_of(app.state.session_factory, app.state.settings)
    files = {}
    for export_format in ("json", "csv"):
        chunks = await export.stream(
            sessions, owner_id=owner, export_format=export_format, batch_size=2
        )
        files[export_format] = b"".join([chunk async for chunk in chunks])

    expected = [str(post_id) for post_id in reversed(ids)]
    assert [post["id"] for post in orjson.loads(files["json"])] == expected
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode(), newline="")))
    assert [row["id"] for row in rows] == expected


async def test_export_needs_a_caller(client: httpx.AsyncClient) -> None:
    response = await client.get(EXPORT, params={"format": "csv"})

    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize("query", ["format=xml", "format=CSV", "format=csv&format=json"])
async def test_an_unknown_format_is_a_validation_error(
    client: httpx.AsyncClient, account: Account, query: str
) -> None:
    response = await client.get(f"{EXPORT}?{query}", headers=account.headers)

    body = assert_problem(response, 422, "validation_error")
    assert [error["loc"] for error in body["errors"]] == [["query", "format"]]  # type: ignore[attr-defined]
