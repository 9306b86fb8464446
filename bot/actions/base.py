"""What every action shares: who acts, with which account, and the audit trail.

An action is one change to a ManageIT account (create a server, delete a project, …):
a plain function taking the services, an `Actor`, an `Account` and a plain spec. The
handlers call them now; team approvals will call the same functions later. Each action
writes one audit entry with its result, successful or not, and never a secret.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Protocol, TypeVar

from bot.manageit.client import ManageITClient
from bot.manageit.errors import ManageITError, NetworkError, ServerError
from bot.storage.vault import VaultError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
T = TypeVar("T")


class TokenUnreadable(Exception):
    """The stored token cannot be decrypted with the configured keys (a key was dropped
    before `manageit-bot rotate-keys` re-encrypted it): the user must send it again."""


class OutcomeUnknown(Exception):
    """A create whose answer was lost (time-out, dropped connection) and whose result could
    not be checked either: it may or may not have been carried out. Never retried blindly."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Actor:
    user_id: int
    chat_id: int


@dataclass(frozen=True)
class Account:
    credential_id: int
    owner_chat_id: int
    name: str | None
    client: ManageITClient


async def load_account(services: "Services", owner_chat_id: int) -> Account | None:
    async with services.db.session() as session:
        cred = await services.credentials.get_for_owner(session, owner_chat_id)
        if cred is None:
            return None
        try:
            token = services.credentials.token_of(cred)
        except VaultError:  # encrypted with a key no longer configured
            log.warning("credential %s cannot be decrypted with ENCRYPTION_KEYS", cred.id)
            raise TokenUnreadable() from None
        return Account(cred.id, cred.owner_chat_id, cred.account_name, services.api.client(token))


class _Named(Protocol):
    hash: str
    name: str


R = TypeVar("R", bound=_Named)


LOOK_AGAIN = (0.0, 0.5, 1.5)  # seconds before each look for an order whose answer was lost


async def order_once(create: Callable[[], Awaitable[R]], listing: Callable[[], Awaitable[list[R]]], name: str) -> R:
    """Create a resource (a POST, never retried) so that a lost answer never leads to a
    second one. When the answer is lost (a time-out, a connection dropped after sending, a
    gateway's 502/504), the order may have been taken, or may still be being carried out:
    look for a resource of that name that was not there before, a few times over a few
    seconds. Found: that is it. Not found: `OutcomeUnknown` — the user is sent to the list,
    never back to Confirm. An error that says the order was not taken stands as it is."""
    before = {r.hash for r in await listing()}
    try:
        return await create()
    except (NetworkError, ServerError) as exc:
        if isinstance(exc, NetworkError) and not exc.sent:
            raise  # never reached ManageIT: trying again is safe
        if isinstance(exc, ServerError) and exc.status not in (502, 504):
            raise  # ManageIT itself answered that it failed
        for delay in LOOK_AGAIN:
            await asyncio.sleep(delay)
            try:
                now = await listing()
            except ManageITError:
                continue
            new = [r for r in now if r.hash not in before and r.name == name]
            if new:
                log.info("an order's answer was lost, but the resource exists: %s", new[-1].hash)
                return new[-1]
        raise OutcomeUnknown(name) from None


async def audited(
    services: "Services",
    actor: Actor,
    account: Account | None,
    action: str,
    call: Awaitable[T],
    *,
    project_hash: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> T:
    """Await `call` and record the outcome in the audit log; re-raise failures."""
    try:
        result = await call
    except Exception as exc:
        error = type(exc).__name__
        if isinstance(exc, ManageITError):
            error = f"{error}: {exc.message}"[:500]
        await _record(services, actor, account, action, project_hash, target, details, "error", error)
        raise
    await _record(services, actor, account, action, project_hash, target, details, "ok", None)
    return result


async def _record(services, actor, account, action, project_hash, target, details, result, error) -> None:
    try:
        async with services.db.session() as session:
            await services.audit.record(
                session,
                actor_user_id=actor.user_id,
                chat_id=actor.chat_id,
                credential_id=account.credential_id if account else None,
                action=action,
                project_hash=project_hash,
                target=target,
                details=details or {},
                result=result,
                error=error,
            )
    except Exception:  # the audit must not turn a done change into a reported failure
        log.exception("could not write the audit entry for %s", action)
