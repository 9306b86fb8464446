"""ORM models for the bot's own state (SQLAlchemy 2 declarative).

All timestamps are timezone-aware UTC. SQLite has no native timezone
support, so :class:`UTCDateTime` normalises values on the way in and
re-attaches UTC to naive values on the way out.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AuditEntry",
    "Base",
    "Credential",
    "NAMING_CONVENTION",
    "TelegramUser",
    "UTCDateTime",
    "WatchedResource",
    "utcnow",
]


def utcnow() -> datetime:
    """Current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always round-trips aware UTC values.

    Naive datetimes given to the database are assumed to already be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            # Store a uniform, lexically sortable representation.
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# Deterministic constraint names: needed for SQLite batch migrations and
# keeps autogenerate output stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TelegramUser(Base):
    __tablename__ = "telegram_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str | None] = mapped_column(String(256))
    # Telegram's client language hint (e.g. "fa", "en-US").
    language_code: Mapped[str | None] = mapped_column(String(16))
    # Explicit choice made in the bot ("fa" / "en"); wins over the hint.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"TelegramUser(id={self.id!r}, language={self.language!r})"


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A user's private chat id (== user id) or a team's group chat id.
    owner_chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # 'user' | 'team'
    added_by_user_id: Mapped[int] = mapped_column(BigInteger)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(Integer)
    account_name: Mapped[str | None] = mapped_column(String(256))
    account_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    invalid_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invalid_notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    throttled_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The owner chat refused a notice with 403 (the user blocked the bot, or it was removed
    # from the group): no notices until an update from that chat clears it.
    chat_blocked_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        # Never include the encrypted token.
        return (
            f"Credential(id={self.id!r}, owner_chat_id={self.owner_chat_id!r}, "
            f"owner_kind={self.owner_kind!r}, fingerprint={self.fingerprint!r})"
        )


class WatchedResource(Base):
    __tablename__ = "watched_resources"
    __table_args__ = (UniqueConstraint("credential_id", "kind", "resource_hash", "sub_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("credentials.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))  # 'server' | 'load_balancer' | 'lb_backend'
    project_hash: Mapped[str] = mapped_column(String(64))
    resource_hash: Mapped[str] = mapped_column(String(64))
    sub_key: Mapped[str] = mapped_column(String(128), default="", server_default="")
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str | None] = mapped_column(String(64))
    real_status: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"WatchedResource(id={self.id!r}, kind={self.kind!r}, "
            f"resource_hash={self.resource_hash!r}, sub_key={self.sub_key!r}, status={self.status!r})"
        )


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_chat_id_created_at", "chat_id", "created_at"),
        Index("ix_audit_log_credential_id_created_at", "credential_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Plain integer (no FK): the audit trail survives a logout.
    credential_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    project_hash: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(String(16), default="ok")  # 'ok' | 'error'
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return (
            f"AuditEntry(id={self.id!r}, action={self.action!r}, "
            f"target={self.target!r}, result={self.result!r})"
        )
