"""Small data-access helpers. Every method takes the caller's ``AsyncSession``
and never commits: the caller owns the transaction (see ``Database.session``).

``UserRepo``, ``WatchRepo`` and ``AuditRepo`` are stateless (static methods;
use the class directly or an instance). ``CredentialRepo`` needs a
:class:`~bot.storage.vault.TokenVault`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditEntry, Credential, TelegramUser, WatchedResource, utcnow
from .vault import TokenVault

__all__ = ["AuditRepo", "CredentialRepo", "UserRepo", "WatchKey", "WatchRepo"]

WatchKey = tuple[str, str, str]  # (kind, resource_hash, sub_key)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


async def _upsert(
    session: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any],
    conflict_cols: Iterable[str],
    update_cols: Iterable[str],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE (SQLite / PostgreSQL), else select+write.

    Atomic on the supported dialects, so concurrent handlers for the same key
    cannot trip over the unique constraint.
    """
    conflict_cols = list(conflict_cols)
    update_cols = list(update_cols)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(model).values(**values)
        index = [getattr(model, c) for c in conflict_cols]
        if update_cols:
            stmt = stmt.on_conflict_do_update(index_elements=index, set_={c: getattr(stmt.excluded, c) for c in update_cols})
        else:  # insert only: an existing row stays as it is
            stmt = stmt.on_conflict_do_nothing(index_elements=index)
        await session.execute(stmt)
        return

    where = [getattr(model, c) == values[c] for c in conflict_cols]
    existing = (await session.execute(select(model).where(*where))).scalar_one_or_none()
    if existing is None:
        await session.execute(insert(model).values(**values))
    else:
        for c in update_cols:
            setattr(existing, c, values[c])
        await session.flush()


class UserRepo:
    @staticmethod
    async def get(session: AsyncSession, user_id: int) -> TelegramUser | None:
        return await session.get(TelegramUser, user_id)

    @staticmethod
    async def upsert(
        session: AsyncSession,
        user_id: int,
        *,
        first_name: str | None,
        language_code: str | None,
    ) -> TelegramUser:
        """Create or refresh a user from a Telegram update; keeps an explicit ``language``."""
        now = utcnow()
        await _upsert(
            session,
            TelegramUser,
            {
                "id": user_id,
                "first_name": first_name,
                "language_code": language_code,
                "created_at": now,
                "updated_at": now,
            },
            conflict_cols=["id"],
            update_cols=["first_name", "language_code", "updated_at"],
        )
        user = await session.get(TelegramUser, user_id, populate_existing=True)
        assert user is not None
        return user

    @staticmethod
    async def set_language(session: AsyncSession, user_id: int, lang: str | None) -> TelegramUser:
        """Record an explicit language choice (creates the user row if needed)."""
        user = await session.get(TelegramUser, user_id)
        if user is None:
            user = TelegramUser(id=user_id, language=lang)
            session.add(user)
        else:
            user.language = lang
        await session.flush()
        return user


class CredentialRepo:
    def __init__(self, vault: TokenVault) -> None:
        self.vault = vault

    async def save(
        self,
        session: AsyncSession,
        *,
        owner_chat_id: int,
        owner_kind: str,
        added_by_user_id: int,
        token: str,
        account_id: int | None,
        account_name: str | None,
        account_email: str | None,
    ) -> Credential:
        """Insert or replace the owner's credential and reset the invalid/throttle flags.

        The row id is kept on replace. If the new token belongs to a different
        account, the owner's watched resources (the old account's) are dropped.
        """
        token = token.strip()
        if not token:
            raise ValueError("token must not be empty")
        previous = await self.get_for_owner(session, owner_chat_id)
        previous_account = (
            (previous.account_id, previous.fingerprint) if previous is not None else None
        )

        now = utcnow()
        fingerprint = TokenVault.fingerprint(token)
        values = {
            "owner_chat_id": owner_chat_id,
            "owner_kind": owner_kind,
            "added_by_user_id": added_by_user_id,
            "token_encrypted": self.vault.encrypt(token),
            "fingerprint": fingerprint,
            "account_id": account_id,
            "account_name": account_name,
            "account_email": account_email,
            "created_at": now,
            "updated_at": now,
            "invalid_since": None,
            "invalid_notified": False,
            "throttled_until": None,
            "chat_blocked_since": None,
        }
        await _upsert(
            session,
            Credential,
            values,
            conflict_cols=["owner_chat_id"],
            update_cols=[c for c in values if c not in ("owner_chat_id", "created_at")],
        )
        cred = (
            await session.execute(
                select(Credential)
                .where(Credential.owner_chat_id == owner_chat_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()

        if previous_account is not None:
            old_account_id, old_fingerprint = previous_account
            same_account = (
                old_account_id == account_id
                if old_account_id is not None and account_id is not None
                else old_fingerprint == fingerprint
            )
            if not same_account:
                await session.execute(
                    delete(WatchedResource).where(WatchedResource.credential_id == cred.id)
                )
        return cred

    @staticmethod
    async def get_for_owner(session: AsyncSession, owner_chat_id: int) -> Credential | None:
        result = await session.execute(
            select(Credential).where(Credential.owner_chat_id == owner_chat_id)
        )
        return result.scalar_one_or_none()

    @staticmethod
    async def get(session: AsyncSession, cred_id: int) -> Credential | None:
        return await session.get(Credential, cred_id)

    def token_of(self, cred: Credential) -> str:
        """Decrypt the credential's token (raises ``VaultError`` on a wrong key)."""
        return self.vault.decrypt(cred.token_encrypted)

    @staticmethod
    async def delete_for_owner(session: AsyncSession, owner_chat_id: int) -> bool:
        """Delete the owner's credential; watched resources go with it (FK cascade)."""
        result = await session.execute(
            delete(Credential)
            .where(Credential.owner_chat_id == owner_chat_id)
        )
        return (result.rowcount or 0) > 0  # type: ignore[attr-defined]

    @staticmethod
    async def move_owner(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
        """Re-key a credential to a new owner chat (a group upgraded to a supergroup).

        Returns True if a credential was moved. If *new_chat_id* already owns a
        credential, that one wins and the old chat's credential is deleted.
        """
        if old_chat_id == new_chat_id:
            return False
        old = await CredentialRepo.get_for_owner(session, old_chat_id)
        if old is None:
            return False
        if await CredentialRepo.get_for_owner(session, new_chat_id) is not None:
            await CredentialRepo.delete_for_owner(session, old_chat_id)
            return False
        old.owner_chat_id = new_chat_id
        await session.flush()
        return True

    @staticmethod
    async def all(session: AsyncSession) -> list[Credential]:
        result = await session.execute(select(Credential).order_by(Credential.id))
        return list(result.scalars())

    @staticmethod
    async def mark_invalid(session: AsyncSession, cred_id: int) -> bool:
        """Flag the token as rejected (HTTP 401).

        Returns True only when the owner has not been told yet, so exactly one
        caller sends the notice. Atomic: a single conditional UPDATE.
        """
        result = await session.execute(
            update(Credential)
            .where(Credential.id == cred_id, Credential.invalid_notified.is_(False))
            .values(
                invalid_since=func.coalesce(Credential.invalid_since, utcnow()),
                invalid_notified=True,
            )
            .execution_options(synchronize_session=False)
        )
        changed = (result.rowcount or 0) > 0  # type: ignore[attr-defined]
        if changed:
            await _refresh_if_loaded(session, Credential, cred_id)
        return changed

    @staticmethod
    async def mark_valid(session: AsyncSession, cred_id: int) -> bool:
        """Clear the invalid flags. Returns True if the credential had been marked invalid."""
        result = await session.execute(
            update(Credential)
            .where(
                Credential.id == cred_id,
                or_(Credential.invalid_since.is_not(None), Credential.invalid_notified.is_(True)),
            )
            .values(invalid_since=None, invalid_notified=False)
        )
        return (result.rowcount or 0) > 0  # type: ignore[attr-defined]

    @staticmethod
    async def set_throttled_until(
        session: AsyncSession, cred_id: int, until: datetime | None
    ) -> None:
        await session.execute(
            update(Credential)
            .where(Credential.id == cred_id)
            .values(throttled_until=_aware(until))
        )

    @staticmethod
    async def set_chat_blocked(session: AsyncSession, owner_chat_id: int, blocked: bool) -> bool:
        """Mark (or clear) the owner chat as refusing the bot's messages (403).

        Returns True if a row changed: marking keeps the first time, clearing touches
        only a marked row."""
        if blocked:
            stmt = (
                update(Credential)
                .where(Credential.owner_chat_id == owner_chat_id, Credential.chat_blocked_since.is_(None))
                .values(chat_blocked_since=utcnow())
            )
        else:
            stmt = (
                update(Credential)
                .where(Credential.owner_chat_id == owner_chat_id, Credential.chat_blocked_since.is_not(None))
                .values(chat_blocked_since=None)
            )
        result = await session.execute(stmt.execution_options(synchronize_session=False))
        return (result.rowcount or 0) > 0  # type: ignore[attr-defined]

    @staticmethod
    async def blocked_chats(session: AsyncSession) -> set[int]:
        """Owner chats currently marked as blocking the bot."""
        result = await session.execute(
            select(Credential.owner_chat_id).where(Credential.chat_blocked_since.is_not(None))
        )
        return set(result.scalars())

    async def rotate_all(self, session: AsyncSession) -> int:
        """Re-encrypt every stored token with the newest key. Returns the count.

        Raises ``VaultError`` (and changes nothing once the caller rolls back)
        if any token cannot be decrypted with the configured keys.
        """
        creds = await self.all(session)
        for cred in creds:
            cred.token_encrypted = self.vault.rotate(cred.token_encrypted)
        await session.flush()
        return len(creds)


async def _refresh_if_loaded(session: AsyncSession, model: type[Any], pk: Any) -> None:
    obj = session.identity_map.get(session.sync_session.identity_key(model, pk))  # type: ignore[arg-type]
    if obj is not None:
        await session.refresh(obj)


class WatchRepo:
    @staticmethod
    async def get_all(session: AsyncSession, credential_id: int) -> dict[WatchKey, WatchedResource]:
        result = await session.execute(
            select(WatchedResource).where(WatchedResource.credential_id == credential_id)
        )
        return {(w.kind, w.resource_hash, w.sub_key): w for w in result.scalars()}

    @staticmethod
    async def upsert(
        session: AsyncSession,
        credential_id: int,
        *,
        kind: str,
        project_hash: str,
        resource_hash: str,
        sub_key: str = "",
        name: str,
        status: str | None,
        real_status: str | None,
        detail: str | None,
        keep_existing: bool = False,
    ) -> None:
        """Record a resource's state. `keep_existing`: only if it has no row yet (what the
        bot learns from its own late-answered order must not undo what the notifier saw)."""
        await _upsert(
            session,
            WatchedResource,
            {
                "credential_id": credential_id,
                "kind": kind,
                "project_hash": project_hash,
                "resource_hash": resource_hash,
                "sub_key": sub_key,
                "name": name,
                "status": status,
                "real_status": real_status,
                "detail": detail,
                "updated_at": utcnow(),
            },
            conflict_cols=["credential_id", "kind", "resource_hash", "sub_key"],
            update_cols=[] if keep_existing else ["project_hash", "name", "status", "real_status", "detail", "updated_at"],
        )

    @staticmethod
    async def delete(
        session: AsyncSession,
        credential_id: int,
        kind: str,
        resource_hash: str,
        sub_key: str = "",
    ) -> bool:
        result = await session.execute(
            delete(WatchedResource)
            .where(
                WatchedResource.credential_id == credential_id,
                WatchedResource.kind == kind,
                WatchedResource.resource_hash == resource_hash,
                WatchedResource.sub_key == sub_key,
            )
        )
        return (result.rowcount or 0) > 0  # type: ignore[attr-defined]

    @staticmethod
    async def delete_missing(
        session: AsyncSession,
        credential_id: int,
        kind: str,
        project_hash: str,
        keep: set[str],
    ) -> int:
        """Delete rows of *kind* in *project_hash* whose resource_hash is not in *keep*.

        Returns the number of rows deleted. An empty *keep* deletes them all.
        """
        stmt = delete(WatchedResource).where(
            WatchedResource.credential_id == credential_id,
            WatchedResource.kind == kind,
            WatchedResource.project_hash == project_hash,
        )
        if keep:
            stmt = stmt.where(WatchedResource.resource_hash.not_in(list(keep)))
        result = await session.execute(stmt)
        return result.rowcount or 0  # type: ignore[attr-defined]


_SECRET_HINTS = ("token", "password", "passwd", "secret", "authorization", "api_key", "apikey")
_MAX_ERROR_LEN = 2000


def _scrub(value: Any) -> Any:
    """Defence in depth: mask values under secret-looking keys before they hit the audit log."""
    if isinstance(value, Mapping):
        return {
            str(k): ("***" if any(h in str(k).lower() for h in _SECRET_HINTS) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


class AuditRepo:
    @staticmethod
    async def record(
        session: AsyncSession,
        *,
        actor_user_id: int | None,
        chat_id: int | None,
        credential_id: int | None,
        action: str,
        project_hash: str | None = None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        result: str = "ok",
        error: str | None = None,
    ) -> AuditEntry:
        """Append an audit entry. *details* must be JSON-serialisable; values under
        secret-looking keys (token, password, ...) are masked."""
        if error is not None and len(error) > _MAX_ERROR_LEN:
            error = error[: _MAX_ERROR_LEN - 1] + "…"
        entry = AuditEntry(
            created_at=utcnow(),
            actor_user_id=actor_user_id,
            chat_id=chat_id,
            credential_id=credential_id,
            action=action,
            project_hash=project_hash,
            target=target,
            details=_scrub(dict(details or {})),
            result=result,
            error=error,
        )
        session.add(entry)
        await session.flush()
        return entry

    @staticmethod
    async def recent(
        session: AsyncSession,
        *,
        chat_id: int | None = None,
        credential_id: int | None = None,
        limit: int = 20,
    ) -> list[AuditEntry]:
        """Newest first, optionally filtered by chat and/or credential."""
        stmt = select(AuditEntry)
        if chat_id is not None:
            stmt = stmt.where(AuditEntry.chat_id == chat_id)
        if credential_id is not None:
            stmt = stmt.where(AuditEntry.credential_id == credential_id)
        stmt = stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
        result = await session.execute(stmt)
        return list(result.scalars())
