import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, Uuid, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from linkedin_posts.database import Base
from linkedin_posts.ids import new_id
from linkedin_posts.types import UTCDateTime, utcnow


class PostStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(StrEnum):
    """LinkedIn's own visibility values (Posts API `visibility`)."""

    PUBLIC = "PUBLIC"
    CONNECTIONS = "CONNECTIONS"
    LOGGED_IN = "LOGGED_IN"


def search_document(title: Any, body: Any) -> Any:
    """The text `q` searches; the PostgreSQL trigram index is built on this same expression."""
    # Literals, not bind parameters: PostgreSQL uses an expression index only when the query's
    # expression is written exactly as the index's.
    return func.coalesce(title, literal_column("''")) + literal_column("' '") + body


class Post(Base):
    __tablename__ = "posts"
    # Every list query starts with owner_id and walks id (UUIDv7, so time-ordered) backwards.
    __table_args__ = (
        Index("ix_posts_owner_id_id", "owner_id", "id"),
        Index("ix_posts_owner_id_status_id", "owner_id", "status", "id"),
        Index("ix_posts_owner_id_campaign_id", "owner_id", "campaign", "id"),
        Index("ix_posts_owner_id_created_at", "owner_id", "created_at"),
        # PostgreSQL also has a trigram GIN index on search_document(title, body) for `q`;
        # it lives in the migration because SQLite has no equivalent.
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # Typed, not left to the foreign key: a query built before the users table is imported
    # would bind owner_id untyped, which SQLite refuses.
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT.value)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC.value)
    campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # UPDATE ... WHERE version = :seen: a concurrent editor's write makes ours match no row.
    __mapper_args__ = {"version_id_col": version}


class PostTag(Base):
    """One row per (post, tag), so the tag filter is an index lookup on every database."""

    __tablename__ = "post_tags"
    __table_args__ = (Index("ix_post_tags_owner_id_tag_post_id", "owner_id", "tag", "post_id"),)

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
