"""Initial schema: telegram_users, credentials, watched_resources, audit_log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(length=256), nullable=True),
        sa.Column("language_code", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_telegram_users"),
    )

    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("added_by_user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("account_name", sa.String(length=256), nullable=True),
        sa.Column("account_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invalid_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invalid_notified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("throttled_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.UniqueConstraint("owner_chat_id", name="uq_credentials_owner_chat_id"),
    )

    op.create_table(
        "watched_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("project_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_hash", sa.String(length=64), nullable=False),
        sa.Column("sub_key", sa.String(length=128), server_default="", nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("real_status", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=256), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_watched_resources_credential_id_credentials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_watched_resources"),
        sa.UniqueConstraint(
            "credential_id",
            "kind",
            "resource_hash",
            "sub_key",
            name="uq_watched_resources_credential_id_kind_resource_hash_sub_key",
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("project_hash", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=256), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_chat_id_created_at", "audit_log", ["chat_id", "created_at"])
    op.create_index(
        "ix_audit_log_credential_id_created_at", "audit_log", ["credential_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_credential_id_created_at", table_name="audit_log")
    op.drop_index("ix_audit_log_chat_id_created_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("watched_resources")
    op.drop_table("credentials")
    op.drop_table("telegram_users")
