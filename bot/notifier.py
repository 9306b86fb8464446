"""Status watcher: tells the owner's chat when a server's status changes.

Each cycle, for every stored token: one projects call, then one servers list call per
project. A change of `status` or `real_status` against the last-known state in the
database is sent to the token's owner; the new state is stored after the notice is
sent, so a restart neither repeats a notice nor misses a change. Resources seen for
the first time are recorded silently (the bot records what it creates itself, so the
"now active" notice of a new server does arrive). On 429 the token is left alone for
as long as the API asked; on 401 the owner is told once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from telegram.error import Forbidden, TelegramError

from bot.i18n import normalize_language, translator
from bot.manageit import errors as api_errors
from bot.ui.render import status_text

if TYPE_CHECKING:
    from telegram import Bot

    from bot.services import Services
    from bot.storage.models import Credential

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    kind: str
    project_hash: str
    resource_hash: str
    name: str
    old_status: str | None
    old_real_status: str | None
    status: str | None
    real_status: str | None
    detail: str | None


class Notifier:
    def __init__(self, services: "Services"):
        self.services = services

    async def job(self, context) -> None:
        """JobQueue callback."""
        await self.run_cycle(context.bot)

    async def run_cycle(self, bot: "Bot") -> int:
        """Check every stored token once; returns the number of notices sent."""
        async with self.services.db.session() as session:
            creds = await self.services.credentials.all(session)
        sent = 0
        for cred in creds:
            try:
                sent += await self._check(bot, cred)
            except Exception:  # one account's trouble must not stop the others
                log.exception("status check failed for credential %s", cred.id)
        return sent

    async def _check(self, bot: "Bot", cred: "Credential") -> int:
        now = datetime.now(timezone.utc)
        if cred.invalid_since is not None:
            return 0
        if cred.throttled_until is not None and cred.throttled_until > now:
            return 0
        client = self.services.api.client(self.services.credentials.token_of(cred))
        try:
            changes = await self._scan(cred, client)
        except api_errors.InvalidToken:
            return await self._token_stopped(bot, cred)
        except api_errors.Throttled as exc:
            async with self.services.db.session() as session:
                await self.services.credentials.set_throttled_until(
                    session, cred.id, now + timedelta(seconds=max(exc.retry_after, 1.0))
                )
            log.info("credential %s throttled for %.0f s", cred.id, exc.retry_after)
            return 0
        except api_errors.ManageITError as exc:
            log.warning("status check for credential %s failed: %s", cred.id, type(exc).__name__)
            return 0
        sent = 0
        for change in changes:
            if await self._notify(bot, cred, change):
                sent += 1
            async with self.services.db.session() as session:
                await self.services.watches.upsert(
                    session,
                    cred.id,
                    kind=change.kind,
                    project_hash=change.project_hash,
                    resource_hash=change.resource_hash,
                    name=change.name,
                    status=change.status,
                    real_status=change.real_status,
                    detail=change.detail,
                )
        return sent

    async def _scan(self, cred: "Credential", client) -> list[Change]:
        async with self.services.db.session() as session:
            known = await self.services.watches.get_all(session, cred.id)
        projects = await client.projects.list()
        seen: set[str] = set()
        changes: list[Change] = []
        first_sight = []
        for project in projects:
            for server in await client.servers.list(project.hash):
                seen.add(server.hash)
                prev = known.get(("server", server.hash, ""))
                if prev is None:
                    first_sight.append((project.hash, server))
                    continue
                if (prev.status, prev.real_status) != (server.status, server.real_status):
                    changes.append(
                        Change("server", project.hash, server.hash, server.name or prev.name, prev.status,
                               prev.real_status, server.status, server.real_status, server.primary_ipv4)
                    )
        async with self.services.db.session() as session:
            for project_hash, server in first_sight:
                await self.services.watches.upsert(
                    session, cred.id, kind="server", project_hash=project_hash, resource_hash=server.hash,
                    name=server.name, status=server.status, real_status=server.real_status, detail=server.primary_ipv4,
                )
            for (kind, resource_hash, sub_key) in known:
                if kind == "server" and resource_hash not in seen:
                    await self.services.watches.delete(session, cred.id, kind, resource_hash, sub_key)
        return changes

    async def _language_of(self, chat_id: int) -> str:
        default = self.services.settings.default_language
        async with self.services.db.session() as session:
            user = await self.services.users.get(session, chat_id)
        if user is None:
            return default
        return user.language or normalize_language(user.language_code, default)

    async def _send(self, bot: "Bot", chat_id: int, text: str) -> bool:
        try:
            await bot.send_message(chat_id=chat_id, text=text)
            return True
        except Forbidden:
            log.info("chat %s blocked the bot or removed it; notice not sent", chat_id)
        except TelegramError as exc:
            log.warning("could not send a notice to %s: %s", chat_id, exc)
        return False

    async def _notify(self, bot: "Bot", cred: "Credential", change: Change) -> bool:
        tr = translator(await self._language_of(cred.owner_chat_id))
        key = "notify.server_status_ip" if change.detail else "notify.server_status"
        text = tr.t(
            key,
            name=change.name,
            status=status_text(tr, change.status),
            real_status=status_text(tr, change.real_status),
            old_status=status_text(tr, change.old_status),
            ip=change.detail or "",
        )
        return await self._send(bot, cred.owner_chat_id, text)

    async def _token_stopped(self, bot: "Bot", cred: "Credential") -> int:
        async with self.services.db.session() as session:
            first_time = await self.services.credentials.mark_invalid(session, cred.id)
        if not first_time:
            return 0
        tr = translator(await self._language_of(cred.owner_chat_id))
        return int(await self._send(bot, cred.owner_chat_id, tr.t("notify.token_invalid")))
