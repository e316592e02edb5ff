"""Input types shared by the schemas: what every database can store without surprises."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

# The NUL rule, for the schema: escapes every regex engine reads alike.
STORABLE_TEXT_PATTERN = r"^[^\x00]*$"


def _storable_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it up front rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    # JSON's \ud800 escapes decode to lone surrogates, which no database driver can encode.
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError("must not contain unpaired surrogates") from None
    return value


def whole_number(value: object) -> object:
    """5.0 as 5: JSON Schema counts it an integer, and strict validation (which refuses "5" and
    true) would refuse it too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _not_a_number(value: object) -> object:
    # The schema says RFC 3339 text; pydantic would also read 0, or "0.5" or "4e-62", as Unix time.
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z")
    return value


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00:00-05:00
        raise ValueError("datetime is out of range") from exc


StorableText = Annotated[
    str, Field(json_schema_extra={"pattern": STORABLE_TEXT_PATTERN}), AfterValidator(_storable_text)
]
UTCAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_to_utc)]
