"""Server changes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.actions.base import Account, Actor, audited, order_once
from bot.manageit.models import Server

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class ServerSpec:
    project_hash: str
    location: int
    plan: int
    os: int  # an OS *version* id
    hostname: str
    password: str = field(repr=False)

    def public_details(self) -> dict:
        """What the audit log may keep: everything but the password."""
        return {"location": self.location, "plan": self.plan, "os": self.os, "hostname": self.hostname}


async def create_server(services: "Services", actor: Actor, account: Account, spec: ServerSpec) -> Server:
    server = await audited(
        services,
        actor,
        account,
        "server.create",
        order_once(
            lambda: account.client.servers.create(
                spec.project_hash,
                location=spec.location,
                plan=spec.plan,
                os=spec.os,
                hostname=spec.hostname,
                password=spec.password,
            ),
            lambda: account.client.servers.list(spec.project_hash),
            spec.hostname,
        ),
        project_hash=spec.project_hash,
        target=spec.hostname,
        details=spec.public_details(),
    )
    # Remember its first state, so the notifier tells the owner when it becomes active.
    async with services.db.session() as session:
        await services.watches.upsert(
            session,
            account.credential_id,
            kind="server",
            project_hash=spec.project_hash,
            resource_hash=server.hash,
            name=server.name or spec.hostname,
            status=server.status,
            real_status=server.real_status,
            detail=server.primary_ipv4,
            keep_existing=True,  # the notifier may have seen it (and told its news) already
        )
    return server


async def delete_server(services: "Services", actor: Actor, account: Account, project_hash: str, server_hash: str, name: str) -> None:
    await audited(
        services,
        actor,
        account,
        "server.delete",
        account.client.servers.delete(project_hash, server_hash),
        project_hash=project_hash,
        target=name,
        details={"hash": server_hash},
    )
    async with services.db.session() as session:
        await services.watches.delete(session, account.credential_id, "server", server_hash)
