import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from linkedin_posts.database import Base


class AiUsage(Base):
    """What one user spent on one provider and model in one day (UTC): one row, added to."""

    __tablename__ = "ai_usage"

    # The key leads with user and day: GET /v1/users/me/usage reads one user's last N days.
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(default=0)
    cached_requests: Mapped[int] = mapped_column(default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
