import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Self

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from linkedin_posts.auth.models import Role

MIN_PASSWORD_LENGTH = 8
# argon2 accepts any length, but a megabyte password is only a way to burn our CPU.
MAX_PASSWORD_LENGTH = 256


def _check_email(value: str) -> str:
    try:
        # test_environment: RFC 6761 asks applications not to treat `.test` names as special, and
        # `format: email` allows them; the library refuses them unless told this.
        address = email_validator.validate_email(
            value.strip(), check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    return address.normalized


Email = Annotated[
    str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(_check_email)
]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class AccountDeletion(BaseModel):
    """The account's password, asked again before it is deleted."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes the request: an active user, and the API key used if it was one."""

    id: uuid.UUID
    email: str
    role: str
    is_active: bool
    created_at: datetime
    api_key_id: uuid.UUID | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, api_key_id: uuid.UUID | None = None) -> Self:
        return cls(
            id=row["id"],
            email=row["email"],
            role=row["role"],
            is_active=row["is_active"],
            created_at=row["created_at"],
            api_key_id=api_key_id,
        )


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name)
    expires_in: int = Field(description="Lifetime of the token in seconds.")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["ci-pipeline"])


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The full key. It is shown only once; store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
