"""Status watcher: tells the owner's chat when a server or a load balancer changes.

Each cycle, for every stored token: one projects call, then one servers list call per
project, one load balancers list call per project that has load balancers, and one
reports call per running load balancer with health-checked services. A change of
`status` or `real_status` against the last-known state in the database is sent to the
token's owner, and so is a backend server of a load balancer going DOWN or coming back
UP; the new state is stored after the notice is sent, so a restart neither repeats a
notice nor misses a change. Resources seen for the first time are recorded silently
(the bot records what it creates itself, so the "now active" notice of a new server or
load balancer does arrive). On 429 the token is left alone for as long as the API
asked; on 401 the owner is told once.

Sending: a notice that fails for a passing reason (network, time-out, Telegram's 5xx or
429) leaves the old state in place, so the next cycle tells it again. A 403 (the user
blocked the bot, or it was removed from the group) records the state and marks the chat
(``credentials.chat_blocked_since``): the account is not checked again until an update
comes from that chat (:meth:`Notifier.chat_spoke`, called for every update); then the
next cycle tells what changed meanwhile. A 400 records the state too (the same text
would be refused again).

Accounts are checked concurrently, at most ``CONCURRENCY`` at a time, and the notifier's
API client never waits out a 429 inside the job: the account gets ``throttled_until``
and the others go on.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from telegram import ChatMember
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import normalize_language, translator
from bot.manageit import errors as api_errors
from bot.storage.vault import VaultError
from bot.ui.render import status_text

if TYPE_CHECKING:
    from telegram import Bot, Update

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
    sub_key: str = ""
    backend: str = ""  # lb_backend: the report's backend name; `detail` is the target address


SUB_KEY_MAX = 128
DETAIL_MAX = 256
CONCURRENCY = 4  # accounts checked at the same time
NOTICE_LINES = 20  # backend changes told in one message; the rest are counted
NOTICE_CHARS = 3500  # and no more text than this (Telegram takes 4096)

# what became of one notice
SENT = "sent"
RETRY = "retry"  # a passing failure: keep the old state, the next cycle tells it again
REFUSED = "refused"  # 400: the same text would be refused again; record the state
BLOCKED = "blocked"  # 403: the chat refuses the bot; record the state, stop sending there


def backend_key(backend: str, target: str) -> str:
    """The watch row's sub_key of one backend server: ``<backend>|<target address>``."""
    key = f"{backend}|{target}"
    if len(key) > SUB_KEY_MAX:
        key = key[: SUB_KEY_MAX - 17] + "#" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return key


def lb_running(lb) -> bool:
    """Only a running load balancer's report says anything about its backends."""
    return (lb.real_status or "").strip().lower() == "started"


def _grouped(changes: list[Change]) -> list[list[Change]]:
    """Changes to tell, one message each, except that a load balancer's backend changes
    of one cycle share a message (a target behind several backends goes down once)."""
    groups: list[list[Change]] = []
    backends: dict[str, list[Change]] = {}
    for change in changes:
        if change.kind != "lb_backend":
            groups.append([change])
        elif change.resource_hash in backends:
            backends[change.resource_hash].append(change)
        else:
            backends[change.resource_hash] = [change]
            groups.append(backends[change.resource_hash])
    return groups


def _notice_text(tr, change: Change) -> str:
    if change.kind == "lb_backend":
        key = "lb.notify.backend_up" if (change.status or "").upper() == "UP" else "lb.notify.backend_down"
        return tr.t(key, name=change.name, backend=change.backend or change.sub_key.partition("|")[0],
                    target=change.detail or change.sub_key.partition("|")[2])
    if change.kind == "load_balancer":
        key = "lb.notify.status_ip" if change.detail else "lb.notify.status"
    else:
        key = "notify.server_status_ip" if change.detail else "notify.server_status"
    return tr.t(
        key,
        name=change.name,
        status=status_text(tr, change.status),
        real_status=status_text(tr, change.real_status),
        old_status=status_text(tr, change.old_status),
        ip=change.detail or "",
    )


class Notifier:
    def __init__(self, services: "Services", concurrency: int = CONCURRENCY):
        self.services = services
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._blocked: set[int] | None = None  # owner chats marked blocked (loaded on first use)
        self._unreadable: set[int] = set()  # credentials whose token no configured key opens

    async def job(self, context) -> None:
        """JobQueue callback."""
        await self.run_cycle(context.bot)

    async def run_cycle(self, bot: "Bot") -> int:
        """Check every stored token once; returns the number of notices sent."""
        async with self.services.db.session() as session:
            creds = await self.services.credentials.all(session)
        return sum(await asyncio.gather(*(self._check_one(bot, cred) for cred in creds)))

    async def _check_one(self, bot: "Bot", cred: "Credential") -> int:
        async with self._slots:
            try:
                return await self._check(bot, cred)
            except Exception:  # one account's trouble must not stop the others
                log.exception("status check failed for credential %s", cred.id)
                return 0

    async def _check(self, bot: "Bot", cred: "Credential") -> int:
        now = datetime.now(timezone.utc)
        if cred.invalid_since is not None:
            return 0
        if cred.chat_blocked_since is not None:
            return 0  # nobody to tell; the changes meanwhile are told once the chat is back
        if cred.throttled_until is not None and cred.throttled_until > now:
            return 0
        try:
            token = self.services.credentials.token_of(cred)
        except VaultError:  # encrypted with a key not configured (now): skip it, it may come back
            if cred.id not in self._unreadable:
                self._unreadable.add(cred.id)
                log.warning("credential %s cannot be decrypted with ENCRYPTION_KEYS; not watched", cred.id)
            return 0
        self._unreadable.discard(cred.id)
        # max_retry_after=0: a 429 is never slept on here (it would hold a slot and the job)
        client = self.services.api.client(token, max_retry_after=0.0)
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
        blocked = False
        for group in _grouped(changes):
            outcome = BLOCKED if blocked else await self._notify(bot, cred, group)
            if outcome == RETRY:
                continue  # the old state stays: the next cycle finds the change again
            if outcome == SENT:
                sent += 1
            blocked = outcome == BLOCKED  # the rest of this cycle is recorded unsent
            async with self.services.db.session() as session:
                for change in group:
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
                        sub_key=change.sub_key,
                    )
        return sent

    async def _scan(self, cred: "Credential", client) -> list[Change]:
        async with self.services.db.session() as session:
            known = await self.services.watches.get_all(session, cred.id)
        projects = await client.projects.list()
        seen: set[str] = set()
        lb_seen: set[str] = set()
        lb_projects = {w.project_hash for (kind, _, _), w in known.items() if kind in ("load_balancer", "lb_backend")}
        drop: set = set()
        changes: list[Change] = []
        first_sight = []
        first_rows: list[dict] = []  # load balancers and backend servers seen for the first time
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
            if project.loadbalancers_count > 0 or project.hash in lb_projects:
                await self._scan_load_balancers(client, project.hash, known, lb_seen, changes, first_rows, drop)
        async with self.services.db.session() as session:
            for project_hash, server in first_sight:
                await self.services.watches.upsert(
                    session, cred.id, kind="server", project_hash=project_hash, resource_hash=server.hash,
                    name=server.name, status=server.status, real_status=server.real_status, detail=server.primary_ipv4,
                )
            for row in first_rows:
                await self.services.watches.upsert(session, cred.id, **row)
            for key in known:
                kind, resource_hash, sub_key = key
                gone = (
                    (kind == "server" and resource_hash not in seen)
                    or (kind in ("load_balancer", "lb_backend") and resource_hash not in lb_seen)
                    or key in drop
                )
                if gone:
                    await self.services.watches.delete(session, cred.id, kind, resource_hash, sub_key)
        return changes

    async def _scan_load_balancers(self, client, project_hash: str, known: dict, lb_seen: set, changes: list,
                                   first_rows: list, drop: set) -> None:
        """One project's load balancers: their status, and their backends' UP/DOWN."""
        for lb in await client.load_balancers.list(project_hash):
            lb_seen.add(lb.hash)
            prev = known.get(("load_balancer", lb.hash, ""))
            name = lb.name or (prev.name if prev else lb.hash)
            if prev is None:
                first_rows.append({
                    "kind": "load_balancer", "project_hash": project_hash, "resource_hash": lb.hash, "name": name,
                    "status": lb.status, "real_status": lb.real_status, "detail": lb.primary_ipv4,
                })
            elif (prev.status, prev.real_status) != (lb.status, lb.real_status):
                changes.append(Change("load_balancer", project_hash, lb.hash, name, prev.status, prev.real_status,
                                      lb.status, lb.real_status, lb.primary_ipv4))
            mine = {k for k in known if k[0] == "lb_backend" and k[1] == lb.hash}
            if not any(svc.health_check for svc in lb.services):
                drop.update(mine)  # no health check, no report: forget what it said
                continue
            if not lb_running(lb):
                continue  # starting or reinstalling: every backend reads DOWN; keep the last real state
            try:
                reports = await client.load_balancers.reports(project_hash, lb.hash)
            except (api_errors.InvalidToken, api_errors.Throttled):
                raise
            except api_errors.ManageITError as exc:
                log.info("report of load balancer %s not read: %s", lb.hash, type(exc).__name__)
                continue
            current: set = set()
            for backend, servers in reports.items():
                for server in servers:
                    sub_key = backend_key(backend, server.server)
                    key = ("lb_backend", lb.hash, sub_key)
                    if key in current:
                        continue
                    current.add(key)
                    status = "UP" if server.is_up else "DOWN"
                    target = server.server[:DETAIL_MAX]
                    before = known.get(key)
                    if before is None:
                        first_rows.append({
                            "kind": "lb_backend", "project_hash": project_hash, "resource_hash": lb.hash,
                            "sub_key": sub_key, "name": name, "status": status, "real_status": None, "detail": target,
                        })
                    elif (before.status or "").upper() != status:
                        changes.append(Change("lb_backend", project_hash, lb.hash, name, before.status, None, status,
                                              None, target, sub_key=sub_key, backend=backend))
            drop.update(mine - current)

    async def _language_of(self, chat_id: int) -> str:
        default = self.services.settings.default_language
        async with self.services.db.session() as session:
            user = await self.services.users.get(session, chat_id)
        if user is None:
            return default
        return user.language or normalize_language(user.language_code, default)

    async def _send(self, bot: "Bot", chat_id: int, text: str) -> str:
        """Send one notice; returns SENT, RETRY, REFUSED or BLOCKED."""
        try:
            await bot.send_message(chat_id=chat_id, text=text)
            return SENT
        except Forbidden:
            log.info("chat %s blocked the bot or removed it; no notices until it writes again", chat_id)
            await self._mark_blocked(chat_id)
            return BLOCKED
        except BadRequest as exc:  # before TelegramError: PTB's BadRequest is a NetworkError
            log.warning("a notice to %s was refused: %s", chat_id, exc)
            return REFUSED
        except TelegramError as exc:  # NetworkError, TimedOut, RetryAfter, 5xx, ChatMigrated
            log.warning("could not send a notice to %s, will retry: %s", chat_id, exc)
            return RETRY

    # -- chats that blocked the bot -------------------------------------------------------
    async def _blocked_chats(self) -> set[int]:
        if self._blocked is None:
            async with self.services.db.session() as session:
                loaded = await self.services.credentials.blocked_chats(session)
            if self._blocked is None:  # another caller may have loaded (and changed) it meanwhile
                self._blocked = loaded
        return self._blocked

    async def _mark_blocked(self, chat_id: int) -> None:
        blocked = await self._blocked_chats()
        async with self.services.db.session() as session:
            await self.services.credentials.set_chat_blocked(session, chat_id, True)
        blocked.add(chat_id)

    async def chat_spoke(self, update: "Update") -> None:
        """For every update: a chat marked as blocking the bot is reachable again once
        anything comes from it (the user wrote or pressed, the group re-added the bot).
        Costs nothing for an unmarked chat: the marks are kept in memory too."""
        chat = update.effective_chat
        if chat is None:
            return
        member = update.my_chat_member
        if member is not None and member.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
            return  # that update *is* the blocking
        blocked = await self._blocked_chats()
        if chat.id not in blocked:
            return
        blocked.discard(chat.id)
        async with self.services.db.session() as session:
            await self.services.credentials.set_chat_blocked(session, chat.id, False)
        log.info("chat %s is back; notices resume", chat.id)

    async def _notify(self, bot: "Bot", cred: "Credential", changes: list[Change]) -> str:
        """One message: a status change, or all backend changes of one load balancer in this cycle."""
        tr = translator(await self._language_of(cred.owner_chat_id))
        lines: list[str] = []
        size = 0
        for change in changes:  # a wide outage: one readable message, under Telegram's limit
            line = _notice_text(tr, change)
            if len(lines) == NOTICE_LINES or size + len(line) > NOTICE_CHARS:
                lines.append(tr.t("lb.more", count=len(changes) - len(lines)))
                break
            lines.append(line)
            size += len(line) + 1
        return await self._send(bot, cred.owner_chat_id, "\n".join(lines))

    async def _token_stopped(self, bot: "Bot", cred: "Credential") -> int:
        async with self.services.db.session() as session:
            first_time = await self.services.credentials.mark_invalid(session, cred.id)
        if not first_time:
            return 0
        tr = translator(await self._language_of(cred.owner_chat_id))
        return int(await self._send(bot, cred.owner_chat_id, tr.t("notify.token_invalid")) == SENT)
