"""Read a bulk-import file (CSV, TSV, JSON, JSON Lines) into posts to create, row by row.

A problem with one row is that row's error and the other rows still import; a problem with the
file as a whole (its encoding, its format, its header, its syntax, its size) raises
ImportRejected and nothing is imported. The columns and keys are those of GET /v1/posts/export,
so an exported file imports as it is: its read-only `id`, `created_at` and `updated_at` are
ignored. Parsing is CPU work: run it off the event loop (`anyio.to_thread.run_sync`).
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from linkedin_posts.errors import AppError
from linkedin_posts.posts.csv_cells import from_text
from linkedin_posts.posts.schemas import MAX_BODY_GRAPHEMES, MAX_TAGS, PostCreate

MAX_IMPORT_ROWS = 10_000
# The fields of PostCreate, in the order the errors and the docs name them.
FIELDS = ("body", "title", "status", "visibility", "campaign", "tags", "scheduled_at")
# Written by the export, chosen by the server on import: skipped, so an export imports as it is.
READ_ONLY_COLUMNS = ("id", "created_at", "updated_at")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
# What separates tags in one cell or string: "launch, ai", "launch; ai", "#launch #ai".
_TAG_SEPARATORS = re.compile(r"[,;\s]+")
# Enough of a file for csv.Sniffer to break a tie between delimiters.
_SNIFF_CHARS = 64 * 1024
_SHOWN_CHARS = 40
_DATE_TIME_HINT = "use RFC 3339, e.g. 2026-01-31T09:00:00Z"

Format = Literal["csv", "tsv", "json"]
_BY_MEDIA_TYPE: dict[str, Format] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/x-csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/x-ndjson": "json",
    "application/ndjson": "json",
    "application/jsonl": "json",
    "application/x-jsonlines": "json",
}
_BY_EXTENSION: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
# Not application/vnd.ms-excel: browsers on Windows send it for every .csv file.
_UNSUPPORTED_MEDIA_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.apple.numbers",
        "application/pdf",
        "application/zip",
    }
)
_UNSUPPORTED_EXTENSIONS = frozenset(
    {".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".pdf", ".zip", ".docx", ".doc"}
)
# ZIP (xlsx, ods, numbers, docx) and OLE2 (xls, doc): workbooks saved in their own format.
_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_HOW_TO_EXPORT = (
    "Upload CSV (in Excel: Save As > CSV UTF-8; in Google Sheets: File > Download > CSV), "
    "TSV, JSON or JSON Lines."
)


class ImportRejected(AppError):
    """The file as a whole cannot be read: nothing in it is imported."""

    status = 422
    code = "import_rejected"


class ImportEncodingUnsupported(ImportRejected):
    code = "import_encoding_unsupported"


class ImportFormatUnsupported(ImportRejected):
    status = 415
    code = "import_format_unsupported"


class ImportHeaderInvalid(ImportRejected):
    code = "import_header_invalid"


class ImportMalformed(ImportRejected):
    code = "import_malformed"


class ImportEmpty(ImportRejected):
    code = "import_empty"


class ImportTooManyRows(ImportRejected):
    status = 413
    code = "import_too_many_rows"


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One post of the file: `post` (PostCreate as JSON) when it is good, else `error`."""

    row: int
    post: dict[str, Any] | None
    error: str | None

    def __post_init__(self) -> None:
        assert (self.post is None) != (self.error is None), "a row has a post or an error"


def parse_import(
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    max_rows: int = MAX_IMPORT_ROWS,
) -> list[ImportRow]:
    """The rows of an import file, each a post to create or the reason it cannot be one.

    `row` is the number a user finds the post by in their file, counted from 1:
    - CSV and TSV: the data row; the header is not counted, so the first row under the header
      is row 1 (a spreadsheet's row N + 1). A record is one row even when a quoted body spans
      several lines; blank rows are skipped but counted, so the numbers stay the spreadsheet's;
    - a JSON array (or `{"posts": [...]}`): the element's index + 1;
    - JSON Lines: the line number (blank lines skipped but counted).

    The format comes from the content type, else the file name's extension, else the content
    (`[` or `{` first: JSON). Text must be UTF-8 (a BOM is fine) or UTF-16 with a BOM.
    Raises ImportRejected (a subclass naming the problem) for whatever spoils the whole file,
    and ImportTooManyRows past `max_rows` posts.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    extension = _extension(filename)
    if (
        media_type in _UNSUPPORTED_MEDIA_TYPES
        or extension in _UNSUPPORTED_EXTENSIONS
        or data.startswith(_BINARY_MAGIC)
    ):
        raise ImportFormatUnsupported(
            "This file is a workbook or document, not a text file we can read. " + _HOW_TO_EXPORT
        )
    found = _BY_MEDIA_TYPE.get(media_type) or (
        "json" if media_type.endswith("+json") else _BY_EXTENSION.get(extension)
    )
    text = _decode(data)
    if not text.strip():
        raise ImportEmpty(
            "The file is empty. Upload a CSV file with a header row (body, title, tags, ...) "
            "and one post per row, or a JSON array of posts."
        )
    if found is None:
        found = "json" if text.lstrip().startswith(("[", "{")) else "csv"
    if found == "json":
        rows = _json_rows(text, max_rows)
    else:
        delimiter = "\t" if found == "tsv" else _delimiter(text)
        rows = _csv_rows(text, delimiter, max_rows)
    if not rows:
        raise ImportEmpty("The file has no posts in it: add at least one, with its body.")
    return rows


def _extension(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def _decode(data: bytes) -> str:
    save_as = "Save the file as UTF-8 (in Excel: CSV UTF-8) and upload it again."
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ImportEncodingUnsupported(f"The file is UTF-32, which is not supported. {save_as}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportEncodingUnsupported(
                f"The file starts as UTF-16 but is not valid UTF-16. {save_as}"
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ImportEncodingUnsupported(
                f"The file is not UTF-8: byte 0x{data[exc.start]:02X} on line {line} is not valid "
                "UTF-8 (the file is probably in a legacy encoding such as Windows-1252 or "
                f"Latin-1). {save_as}"
            ) from None
    if "\x00" in text:
        # Valid UTF-8, but no text file holds NUL: UTF-16 or UTF-32 without a BOM, or binary.
        raise ImportEncodingUnsupported(
            "The file contains NUL bytes: it is binary, or UTF-16 without a byte order mark. "
            + save_as
        )
    return text


# CSV


def _header_names(line: str, delimiter: str) -> list[str]:
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return [cell.strip().lower() for cell in cells]


def _delimiter(text: str) -> str:
    """The delimiter that makes the most known column names of the header line.

    The header decides because its names are known; csv.Sniffer, which reads the data too and
    can be misled by a comma-rich body, only breaks a tie.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    known = {*FIELDS, *READ_ONLY_COLUMNS}
    scores = {
        d: sum(name in known for name in _header_names(header, d))
        for d in DELIMITERS
        if d in header
    }
    if not scores:
        # One column: pick a delimiter the data does not use, so no body is split.
        sample = text[:_SNIFF_CHARS]
        return min(DELIMITERS, key=sample.count)
    best = max(scores.values())
    tied = [d for d, score in scores.items() if score == best]
    if len(tied) == 1:
        return tied[0]
    try:
        sniffed = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters="".join(tied)).delimiter
    except csv.Error:
        return tied[0]
    return sniffed if sniffed in tied else tied[0]


def _columns(header: list[str]) -> list[str | None]:
    """The field of each column: None for a read-only one, "" for one without a name."""
    names = [cell.strip().lower() for cell in header]
    known = {*FIELDS, *READ_ONLY_COLUMNS}
    columns_help = (
        "The columns are body (required), title, status, visibility, campaign, tags and "
        "scheduled_at, in any order; an export's id, created_at and updated_at are ignored."
    )
    if not any(name in known for name in names):
        raise ImportHeaderInvalid(
            "The first row must be a header that names the columns, and it names none we know "
            f"(found {_shown(header[0]) if header else 'nothing'} first). {columns_help}"
        )
    unknown = [name for name in names if name and name not in known]
    if unknown:
        listed = ", ".join(_shown(name) for name in dict.fromkeys(unknown))
        raise ImportHeaderInvalid(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {listed}: rename or remove "
            f"{'them' if len(unknown) > 1 else 'it'}. {columns_help}"
        )
    repeated = [name for name in dict.fromkeys(names) if name and names.count(name) > 1]
    if repeated:
        several = len(repeated) > 1
        raise ImportHeaderInvalid(
            f"The column{'s' if several else ''} {', '.join(map(_shown, repeated))} "
            f"appear{'' if several else 's'} more than once in the header: keep one of each."
        )
    if "body" not in names:
        raise ImportHeaderInvalid(
            f"The header has no body column, and every post needs its text. {columns_help}"
        )
    return [None if name in READ_ONLY_COLUMNS else name for name in names]


def _csv_rows(text: str, delimiter: str, max_rows: int) -> list[ImportRow]:
    # strict: an unclosed quote is an error, where the lenient reader swallows the rest.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[ImportRow] = []
    try:
        header = next((cells for cells in reader if not _blank(cells)), None)
        if header is None:
            return rows
        columns = _columns(header)
        for number, cells in enumerate(reader, start=1):
            if _blank(cells):
                continue
            if len(rows) == max_rows:
                raise _too_many(max_rows)
            rows.append(_csv_row(number, columns, cells, delimiter))
    except csv.Error as exc:
        raise ImportMalformed(
            f"The file is not valid CSV near line {reader.line_num}: {exc}. A cell that holds "
            "the delimiter, a line break or a double quote must be in double quotes, with each "
            'quote inside it doubled ("").'
        ) from None
    return rows


def _blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _csv_row(number: int, columns: list[str | None], cells: list[str], delimiter: str) -> ImportRow:
    if len(cells) != len(columns):
        return ImportRow(
            number,
            None,
            f"has {len(cells)} cells where the header has {len(columns)} columns; a cell that "
            f"holds a {_DELIMITER_NAMES[delimiter]} must be in double quotes",
        )
    fields: dict[str, Any] = {}
    for position, (name, cell) in enumerate(zip(columns, cells, strict=True), start=1):
        if name is None:
            continue
        if not name:
            if cell.strip():
                return ImportRow(
                    number, None, f"column {position} has a value but no name in the header"
                )
        elif name == "body" or cell.strip():
            # An empty cell is a field not given, except the body, which is required. A cell
            # the export wrote as text ("'=...") comes back as it was (posts/csv_cells.py).
            fields[name] = from_text(cell)
    return _validate(number, fields)


# JSON


def _json_rows(text: str, max_rows: int) -> list[ImportRow]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            lines = _json_lines(text, max_rows)
            if lines is not None:
                return lines
        raise ImportMalformed(
            f"The file is not valid JSON: {_json_error(exc)}. Send an array of posts, "
            '{"posts": [...]}, or JSON Lines (one post object per line).'
        ) from None
    if isinstance(document, dict) and "posts" in document:
        document = document["posts"]
        if not isinstance(document, list):
            raise ImportMalformed('"posts" must be an array of post objects.')
    elif isinstance(document, dict):
        document = [document]  # JSON Lines of one line, or one post
    if not isinstance(document, list):
        raise ImportMalformed(
            'The JSON must be an array of posts, {"posts": [...]}, or one post object per line.'
        )
    if len(document) > max_rows:
        raise _too_many(max_rows)
    return [_json_row(index, item) for index, item in enumerate(document, start=1)]


def _json_lines(text: str, max_rows: int) -> list[ImportRow] | None:
    """Rows of JSON Lines, numbered by line; None when no line is JSON (not JSON Lines)."""
    rows: list[ImportRow] = []
    parsed_any = False
    for number, line in _numbered_lines(text):
        if not line.strip():
            continue
        if len(rows) == max_rows:
            raise _too_many(max_rows)
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            rows.append(ImportRow(number, None, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        parsed_any = True
        rows.append(_json_row(number, item))
    return rows if parsed_any else None


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    # Only \n and \r\n end a line: JSON strings hold other line separators (U+2028) as they are.
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"


def rows_of(items: list[Any]) -> list[ImportRow]:
    """Rows already parsed from JSON (a job's `items`), numbered from 1 as in a JSON file."""
    return [_json_row(index, item) for index, item in enumerate(items, start=1)]


def _json_row(number: int, item: object) -> ImportRow:
    if not isinstance(item, dict):
        return ImportRow(
            number,
            None,
            f'must be an object such as {{"body": "..."}}, not {_json_type(item)}',
        )
    return _validate(number, item)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "null"


# Both


def _validate(number: int, fields: dict[str, Any]) -> ImportRow:
    values = {
        name: _normalize(name, value)
        for name, value in fields.items()
        if name not in READ_ONLY_COLUMNS
    }
    try:
        post = PostCreate.model_validate(values)
    except ValidationError as exc:
        reasons = [_reason(error) for error in exc.errors(include_url=False)]
        return ImportRow(number, None, "; ".join(dict.fromkeys(reasons)))
    return ImportRow(number, post.model_dump(mode="json"), None)


def _normalize(name: str, value: Any) -> Any:
    """Spreadsheet leniency: tags as one string, any case for status and visibility."""
    if not isinstance(value, str):
        return value
    if name == "tags":
        return [tag for tag in _TAG_SEPARATORS.split(value) if tag]
    if name == "status":
        return value.strip().lower()
    if name == "visibility":
        return value.strip().upper()
    if name == "scheduled_at":
        return value.strip()
    return value


def _reason(error: ErrorDetails) -> str:
    """One validation error as `field: what is wrong`, in words a spreadsheet user knows."""
    loc = error["loc"]
    field = str(loc[0]) if loc else ""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        text = "is required"
    elif kind == "extra_forbidden":
        text = f"unknown field; the fields are {', '.join(FIELDS)}"
    elif field == "tags" and len(loc) > 1 and isinstance(value, str):
        text = f"{_shown(value)} is not a tag: use 1-50 letters, digits, '_' or '-'"
    elif kind == "too_long" and field == "tags":
        text = f"at most {MAX_TAGS} tags"
    elif kind in ("string_too_short", "too_short"):
        text = "must not be empty"
    elif kind in ("string_too_long", "too_long") and field == "body":
        text = f"is too long; LinkedIn allows at most {MAX_BODY_GRAPHEMES} characters"
    elif kind in ("string_too_long", "too_long"):
        text = f"is too long; at most {ctx.get('max_length')} characters"
    elif kind == "string_type":
        text = "must be text"
    elif kind == "list_type":
        text = 'must be a list of tags or text such as "launch, ai"'
    elif kind == "enum":
        text = f"{_shown(value)} is not one of {ctx.get('expected')}"
    elif kind == "timezone_aware":
        text = f"needs a time zone offset; {_DATE_TIME_HINT}"
    elif kind.startswith("datetime"):
        text = f"not a date-time; {_DATE_TIME_HINT}"
    elif kind == "value_error":
        text = str(ctx.get("error") or error["msg"])
    else:
        text = error["msg"]
    # A rule on several fields (the schedule) has no loc; its message names the fields.
    return f"{field}: {text}" if field else text


def _shown(value: object) -> str:
    text = str(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return repr(text)


def _too_many(max_rows: int) -> ImportTooManyRows:
    return ImportTooManyRows(
        f"The file has more than {max_rows} posts, the most one import takes: split it into "
        f"files of at most {max_rows} posts.",
        max_rows=max_rows,
    )
