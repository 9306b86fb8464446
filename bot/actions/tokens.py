"""Storing and forgetting a chat's ManageIT API token."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.actions.base import Actor, audited
from bot.manageit.models import User

if TYPE_CHECKING:
    from bot.services import Services


async def connect(services: "Services", actor: Actor, owner_chat_id: int, token: str, *, owner_kind: str = "user") -> User:
    """Check the token with GET api/user, then store it encrypted. Nothing is saved on failure."""
    client = services.api.client(token)

    async def verify_and_save() -> User:
        user = await client.user.get()
        async with services.db.session() as session:
            await services.credentials.save(
                session,
                owner_chat_id=owner_chat_id,
                owner_kind=owner_kind,
                added_by_user_id=actor.user_id,
                token=token,
                account_id=user.id,
                account_name=user.name,
                account_email=user.email,
            )
        return user

    return await audited(services, actor, None, "token.set", verify_and_save(), target=str(owner_chat_id))


async def forget(services: "Services", actor: Actor, owner_chat_id: int) -> bool:
    async def delete() -> bool:
        async with services.db.session() as session:
            return await services.credentials.delete_for_owner(session, owner_chat_id)

    return await audited(services, actor, None, "token.remove", delete(), target=str(owner_chat_id))
