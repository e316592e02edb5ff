"""Import files as users make them: spreadsheets saved as CSV, JSON from scripts, exports."""

import codecs
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linkedin_posts.jobs.importing import (
    ImportEmpty,
    ImportEncodingUnsupported,
    ImportFormatUnsupported,
    ImportHeaderInvalid,
    ImportMalformed,
    ImportRejected,
    ImportRow,
    ImportTooManyRows,
    parse_import,
)

THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # one grapheme, two code points
CAFE = "Caf\u00e9"
DEFAULTS = {
    "title": None,
    "status": "draft",
    "visibility": "PUBLIC",
    "campaign": None,
    "tags": [],
    "scheduled_at": None,
}


def parse(
    data: bytes | str,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    **options: Any,
) -> list[ImportRow]:
    raw = data.encode() if isinstance(data, str) else data
    return parse_import(raw, filename=filename, content_type=content_type, **options)


def rejected(
    data: bytes | str, status: int, code: str, *, filename: str | None = None, **options: Any
) -> str:
    """Assert the whole file is refused with this status and code; return the detail."""
    with pytest.raises(ImportRejected) as caught:
        parse(data, filename=filename, **options)
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.detail
    return caught.value.detail


def bodies(rows: list[ImportRow]) -> list[str]:
    return [row.post["body"] for row in rows if row.post is not None]


def errors(rows: list[ImportRow]) -> dict[int, str]:
    return {row.row: row.error for row in rows if row.error is not None}


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


# CSV


def test_a_csv_row_becomes_the_post_to_create() -> None:
    when = in_days(3)
    rows = parse(
        "body,title,status,visibility,campaign,tags,scheduled_at\n"
        f'Hello LinkedIn,Launch,scheduled,CONNECTIONS,spring,"launch, AI",{when}\n',
        filename="posts.csv",
    )

    assert rows == [
        ImportRow(
            1,
            {
                "body": "Hello LinkedIn",
                "title": "Launch",
                "status": "scheduled",
                "visibility": "CONNECTIONS",
                "campaign": "spring",
                "tags": ["launch", "ai"],
                "scheduled_at": when.replace("+00:00", "Z"),
            },
            None,
        )
    ]


def test_empty_cells_take_the_defaults() -> None:
    rows = parse("body,title,status,visibility,campaign,tags,scheduled_at\nJust text,,,,,,\n")

    assert rows == [ImportRow(1, {"body": "Just text", **DEFAULTS}, None)]


@pytest.mark.parametrize(
    ("text", "filename"),
    [
        ("body;title;tags\nHello, world;Hi;a, b\nSecond;T2;c\n", "excel-europe.csv"),
        ("body\ttitle\ttags\nHello, world\tHi\ta, b\nSecond\tT2\tc\n", "sheet.csv"),
        ("body\ttitle\ttags\nHello, world\tHi\ta, b\nSecond\tT2\tc\n", "sheet.tsv"),
        ("body|title|tags\nHello, world|Hi|a, b\nSecond|T2|c\n", None),
        ('body,title,tags\n"Hello, world",Hi,"a, b"\nSecond,T2,c\n', None),
    ],
    ids=["semicolon", "tab", "tsv", "pipe", "comma"],
)
def test_the_delimiter_is_found(text: str, filename: str | None) -> None:
    rows = parse(text, filename=filename)

    assert [
        (r.row, r.post and (r.post["body"], r.post["title"], r.post["tags"])) for r in rows
    ] == [
        (1, ("Hello, world", "Hi", ["a", "b"])),
        (2, ("Second", "T2", ["c"])),
    ]


def test_a_single_column_file_keeps_commas_in_the_body() -> None:
    rows = parse("body\nHello, world; how are you?\n", content_type="text/csv")

    assert bodies(rows) == ["Hello, world; how are you?"]


def test_column_names_ignore_case_and_spaces() -> None:
    rows = parse(" Body , TITLE ,Status,visibility\nText,Title,Published,connections\n")

    assert rows[0].post == {
        **DEFAULTS,
        "body": "Text",
        "title": "Title",
        "status": "published",
        "visibility": "CONNECTIONS",
    }


@pytest.mark.parametrize(
    "cell", ["launch, ai", "launch;ai", "#launch #AI", "launch ai", " launch ,, #ai "]
)
def test_a_tags_cell_takes_commas_semicolons_or_spaces(cell: str) -> None:
    rows = parse(f'body,tags\nText,"{cell}"\n')

    assert rows[0].post is not None
    assert rows[0].post["tags"] == ["launch", "ai"]


def test_a_quoted_body_keeps_its_line_breaks_quotes_and_commas() -> None:
    body = 'First line, with a comma\n\nSecond paragraph with "quotes"\r\n- a bullet'
    quoted = '"' + body.replace('"', '""') + '"'
    rows = parse(f"title,body\r\nOne,{quoted}\r\nTwo,Next post\r\n")

    assert [(r.row, r.post and r.post["body"]) for r in rows] == [(1, body), (2, "Next post")]


def test_a_utf8_bom_is_not_part_of_the_first_column() -> None:
    rows = parse(codecs.BOM_UTF8 + f"body,title\n{CAFE} {THUMBS_UP_MEDIUM},Hi\n".encode())

    assert bodies(rows) == [f"{CAFE} {THUMBS_UP_MEDIUM}"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_bom_is_read(encoding: str) -> None:
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated.
    text = f"body\ttags\n{CAFE} {THUMBS_UP_MEDIUM}\tcaf\u00e9\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data

    rows = parse(data, filename="posts.txt")

    assert [r.post and (r.post["body"], r.post["tags"]) for r in rows] == [
        (f"{CAFE} {THUMBS_UP_MEDIUM}", ["caf\u00e9"])
    ]


def test_latin1_is_refused_with_a_way_out() -> None:
    data = f"body,title\nPlain,ascii\n{CAFE} ouvert,Menu\n".encode("latin-1")

    detail = rejected(data, 422, "import_encoding_unsupported", filename="posts.csv")

    assert "not UTF-8" in detail
    assert "0xE9 on line 3" in detail
    assert "Save the file as UTF-8" in detail


def test_utf16_without_a_bom_is_refused() -> None:
    detail = rejected("body\nHello\n".encode("utf-16-le"), 422, "import_encoding_unsupported")

    assert "UTF-8" in detail


def test_bad_rows_are_reported_with_their_row_number_and_reason() -> None:
    too_long = THUMBS_UP_MEDIUM * 3001
    longest = THUMBS_UP_MEDIUM * 3000
    rows = parse(
        "body,title,status,scheduled_at,tags\n"
        "Good one,,,,\n"  # 1
        ",Title only,,,\n"  # 2
        "   ,,,,\n"  # 3: nothing but spaces, a blank row: skipped
        f"{too_long},,,,\n"  # 4
        "Text,,posted,,\n"  # 5
        "Text,,scheduled,,\n"  # 6
        "Text,,,next monday,\n"  # 7
        "Text,,,2026-05-01 09:00,\n"  # 8
        "Text,,,,launch!\n"  # 9
        "\n"  # 10: blank, skipped but counted as a spreadsheet would
        f"{longest},,,,\n"  # 11
        "Too,many,,,,cells\n"  # 12
    )

    assert [row.row for row in rows] == [1, 2, 4, 5, 6, 7, 8, 9, 11, 12]
    assert bodies(rows) == ["Good one", longest]
    assert errors(rows) == {
        2: "body: must not be empty",
        4: "body: is 3001 characters long; LinkedIn allows at most 3000",
        5: "status: 'posted' is not one of 'draft', 'scheduled', 'published' or 'archived'",
        6: "a scheduled post needs scheduled_at in the future",
        7: "scheduled_at: not a date-time; use RFC 3339, e.g. 2026-01-31T09:00:00Z",
        8: "scheduled_at: needs a time zone offset; use RFC 3339, e.g. 2026-01-31T09:00:00Z",
        9: "tags: 'launch!' is not a tag: use 1-50 letters, digits, '_' or '-'",
        12: "has 6 cells where the header has 5 columns; a cell that holds a comma must be in "
        "double quotes",
    }


def test_a_body_of_only_spaces_is_a_bad_row() -> None:
    rows = parse("body,title\n   ,Title\n")

    assert errors(rows) == {1: "body: must not be empty or only whitespace"}


def test_every_reason_of_a_row_is_given() -> None:
    rows = parse("body,status,visibility\n,done,everyone\n")

    reason = errors(rows)[1]
    assert reason.startswith("body: must not be empty; status: 'done' is not one of")
    assert "visibility: 'EVERYONE' is not one of 'PUBLIC', 'CONNECTIONS' or 'LOGGED_IN'" in reason


def test_the_read_only_columns_of_an_export_are_ignored() -> None:
    rows = parse(
        "id,title,body,status,visibility,campaign,tags,scheduled_at,created_at,updated_at\n"
        "0190c2a4-0000-7000-8000-000000000000,T,Body,draft,PUBLIC,,a,,"
        "2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
    )

    assert rows == [ImportRow(1, {**DEFAULTS, "body": "Body", "title": "T", "tags": ["a"]}, None)]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("title,tags", "no body column"),
        ("body,text,title", "Unknown column 'text'"),
        ("body,Title,title", "'title' appears more than once"),
        ("Hello world,second", "must be a header that names the columns"),
    ],
    ids=["no-body", "unknown", "duplicate", "no-header"],
)
def test_a_bad_header_refuses_the_file(header: str, says: str) -> None:
    detail = rejected(f"{header}\nvalue,value\n", 422, "import_header_invalid")

    assert says in detail


def test_an_unnamed_column_is_fine_while_it_is_empty() -> None:
    rows = parse("body,title,\nOne,T,\nTwo,T,stray\n")

    assert bodies(rows) == ["One"]
    assert errors(rows) == {2: "column 3 has a value but no name in the header"}


def test_an_unclosed_quote_refuses_the_file() -> None:
    detail = rejected('body,title\nGood,T\n"Never closed,T\nMore,T\n', 422, "import_malformed")

    assert "not valid CSV" in detail
    assert "double quotes" in detail


# JSON


def test_a_json_array_numbers_rows_from_one() -> None:
    posts = [
        {"body": "One", "tags": ["Launch", "#ai"]},
        {"body": "Two", "tags": "launch, ai", "status": "Published"},
        {"body": ""},
    ]

    rows = parse(json.dumps(posts), filename="posts.json")

    assert rows == [
        ImportRow(1, {**DEFAULTS, "body": "One", "tags": ["launch", "ai"]}, None),
        ImportRow(
            2, {**DEFAULTS, "body": "Two", "tags": ["launch", "ai"], "status": "published"}, None
        ),
        ImportRow(3, None, "body: must not be empty"),
    ]


def test_a_posts_object_is_read() -> None:
    rows = parse(json.dumps({"posts": [{"body": "One"}, {"body": "Two"}]}))

    assert [(row.row, row.post and row.post["body"]) for row in rows] == [(1, "One"), (2, "Two")]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("posts.jsonl", None), ("posts.ndjson", None), (None, "application/x-ndjson"), (None, None)],
)
def test_json_lines_are_numbered_by_line(filename: str | None, content_type: str | None) -> None:
    text = '{"body": "One"}\n\n{"body": "Two", "title": 5}\n{"body": broken}\r\n{"body": "Four"}\n'

    rows = parse(text, filename=filename, content_type=content_type)

    assert bodies(rows) == ["One", "Four"]
    assert [row.row for row in rows] == [1, 3, 4, 5]
    assert errors(rows) == {
        3: "title: must be text",
        4: "not valid JSON: unexpected character, expected a JSON value at column 10",
    }


def test_an_unknown_key_is_a_bad_row_naming_it() -> None:
    rows = parse(json.dumps([{"body": "One", "text": "?"}, {"body": "Two"}]))

    assert bodies(rows) == ["Two"]
    assert errors(rows) == {
        1: "text: unknown field; the fields are body, title, status, visibility, campaign, "
        "tags, scheduled_at"
    }


def test_a_non_object_element_is_a_bad_row() -> None:
    rows = parse(json.dumps([{"body": "One"}, "Two", ["Three"], None]))

    assert errors(rows) == {
        2: 'must be an object such as {"body": "..."}, not a string',
        3: 'must be an object such as {"body": "..."}, not an array',
        4: 'must be an object such as {"body": "..."}, not null',
    }


def test_the_read_only_keys_of_an_export_are_ignored() -> None:
    exported = {"id": "x", "body": "One", "created_at": "then", "updated_at": "later"}

    assert parse(json.dumps([exported])) == [ImportRow(1, {**DEFAULTS, "body": "One"}, None)]


@pytest.mark.parametrize(
    "text",
    ['[{"body": "One"},', '{"posts": {"body": "One"}}', '"just a string"', '[{"body": "x"}] ]'],
)
def test_broken_json_refuses_the_file(text: str) -> None:
    detail = rejected(text, 422, "import_malformed", filename="posts.json")

    assert "JSON" in detail or "posts" in detail


# Whole files


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "posts.csv"),
        (b" \r\n\n", None),
        (codecs.BOM_UTF8, "posts.csv"),
        (b"body,title\n", "posts.csv"),
        (b"body,title\n,\n\n", "posts.csv"),
        (b"[]", "posts.json"),
        (b'{"posts": []}', None),
    ],
    ids=["nothing", "blank", "bom", "header-only", "blank-rows", "empty-array", "empty-posts"],
)
def test_a_file_without_posts_is_refused(data: bytes, filename: str | None) -> None:
    rejected(data, 422, "import_empty", filename=filename)


@pytest.mark.parametrize(
    ("text", "filename"),
    [
        ("body\none\ntwo\n\nthree\nfour\n", "posts.csv"),
        (json.dumps([{"body": str(i)} for i in range(4)]), "posts.json"),
        ("\n".join(json.dumps({"body": str(i)}) for i in range(4)), "posts.jsonl"),
    ],
)
def test_more_rows_than_allowed_refuse_the_file(text: str, filename: str) -> None:
    detail = rejected(text, 413, "import_too_many_rows", filename=filename, max_rows=3)

    assert "more than 3 posts" in detail


def test_as_many_rows_as_allowed_are_read() -> None:
    assert len(parse("body\none\ntwo\nthree\n", max_rows=3)) == 3


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"body\nHello\n", "posts.xlsx", None),
        (b"body\nHello\n", None, "application/vnd.oasis.opendocument.spreadsheet"),
        (b"PK\x03\x04\x14\x00\x06\x00", None, None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "posts.csv", "application/vnd.ms-excel"),
    ],
    ids=["xlsx-name", "ods-type", "zip-content", "xls-content"],
)
def test_a_workbook_is_refused_as_unsupported(
    data: bytes, filename: str | None, content_type: str | None
) -> None:
    with pytest.raises(ImportFormatUnsupported) as caught:
        parse(data, filename=filename, content_type=content_type)

    assert (caught.value.status, caught.value.code) == (415, "import_format_unsupported")
    assert "CSV UTF-8" in caught.value.detail


def test_the_content_type_wins_over_the_name() -> None:
    rows = parse('[{"body": "One"}]', filename="posts.csv", content_type="application/json")

    assert bodies(rows) == ["One"]


def test_a_csv_sent_as_windows_excel_type_is_read() -> None:
    rows = parse("body\nHello\n", filename="posts.csv", content_type="application/vnd.ms-excel")

    assert bodies(rows) == ["Hello"]


def test_the_rejections_are_app_errors_with_stable_codes() -> None:
    codes = {
        cls.code: cls.status
        for cls in (
            ImportEncodingUnsupported,
            ImportFormatUnsupported,
            ImportHeaderInvalid,
            ImportMalformed,
            ImportEmpty,
            ImportTooManyRows,
        )
    }

    assert codes == {
        "import_encoding_unsupported": 422,
        "import_format_unsupported": 415,
        "import_header_invalid": 422,
        "import_malformed": 422,
        "import_empty": 422,
        "import_too_many_rows": 413,
    }
