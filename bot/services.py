"""The long-lived objects the bot works with, built once at start."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.config import Settings
from bot.manageit.client import ManageITAPI
from bot.storage.db import Database
from bot.storage.repositories import AuditRepo, CredentialRepo, UserRepo, WatchRepo
from bot.storage.vault import TokenVault


class SecretStash:
    """Secrets a flow needs for a short while (a typed password until Confirm).

    Held in memory only, never in conversation state, so that no persistence ever
    writes them anywhere; they expire after `ttl` seconds."""

    def __init__(self, ttl: float = 3600.0):
        self.ttl = ttl
        self._items: dict[object, tuple[float, str]] = {}

    def put(self, key: object, secret: str) -> None:
        self._purge()
        self._items[key] = (time.monotonic() + self.ttl, secret)

    def pop(self, key: object) -> str | None:
        self._purge()
        item = self._items.pop(key, None)
        return item[1] if item else None

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, (until, _) in self._items.items() if until < now]:
            del self._items[key]

    def __repr__(self) -> str:
        return f"SecretStash({len(self._items)} items)"


@dataclass
class Services:
    settings: Settings
    db: Database
    vault: TokenVault
    api: ManageITAPI
    credentials: CredentialRepo
    watches: WatchRepo
    audit: AuditRepo
    users: UserRepo
    secrets: SecretStash = field(default_factory=SecretStash)

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        vault = TokenVault(list(settings.encryption_keys))
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            vault=vault,
            api=ManageITAPI(settings.manageit_api_url, timeout=settings.manageit_timeout, max_retry_after=5.0),
            credentials=CredentialRepo(vault),
            watches=WatchRepo(),
            audit=AuditRepo(),
            users=UserRepo(),
        )

    async def close(self) -> None:
        await self.api.close()
        await self.db.dispose()
