"""Project changes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.actions.base import Account, Actor, audited
from bot.manageit.models import Project

if TYPE_CHECKING:
    from bot.services import Services


async def create_project(services: "Services", actor: Actor, account: Account, name: str) -> Project:
    return await audited(
        services, actor, account, "project.create", account.client.projects.create(name), target=name, details={"name": name}
    )


async def rename_project(services: "Services", actor: Actor, account: Account, project_hash: str, name: str) -> Project:
    return await audited(
        services,
        actor,
        account,
        "project.rename",
        account.client.projects.update(project_hash, name),
        project_hash=project_hash,
        target=name,
        details={"name": name},
    )


async def delete_project(services: "Services", actor: Actor, account: Account, project_hash: str, name: str) -> None:
    await audited(
        services,
        actor,
        account,
        "project.delete",
        account.client.projects.delete(project_hash),
        project_hash=project_hash,
        target=name,
    )
