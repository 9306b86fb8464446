"""Persistence: SQLAlchemy models, async engine/sessions, token vault,
repositories and Alembic migrations."""

from .db import Database, create_engine, session_factory
from .migrate import migration_config, upgrade, upgrade_sync
from .models import AuditEntry, Base, Credential, TelegramUser, WatchedResource, utcnow
from .repositories import AuditRepo, CredentialRepo, UserRepo, WatchRepo
from .vault import TokenVault, VaultError

__all__ = [
    "AuditEntry",
    "AuditRepo",
    "Base",
    "Credential",
    "CredentialRepo",
    "Database",
    "TelegramUser",
    "TokenVault",
    "UserRepo",
    "VaultError",
    "WatchRepo",
    "WatchedResource",
    "create_engine",
    "migration_config",
    "session_factory",
    "upgrade",
    "upgrade_sync",
    "utcnow",
]
