"""Server changes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import logging

from bot.actions.base import Account, Actor, OutcomeUnknown, audited
from bot.manageit.errors import ManageITError, NetworkError
from bot.manageit.models import Server

log = logging.getLogger(__name__)

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


async def _order(account: Account, spec: ServerSpec) -> Server:
    """POST the order. If its answer is lost, the order may still have been taken: look
    for a server of that hostname that was not there before, so that "try again" never
    orders a second one."""
    before = {s.hash for s in await account.client.servers.list(spec.project_hash)}
    try:
        return await account.client.servers.create(
            spec.project_hash,
            location=spec.location,
            plan=spec.plan,
            os=spec.os,
            hostname=spec.hostname,
            password=spec.password,
        )
    except NetworkError:
        try:
            servers = await account.client.servers.list(spec.project_hash)
        except ManageITError:
            raise OutcomeUnknown(spec.hostname) from None
        ordered = [s for s in servers if s.hash not in before and s.name == spec.hostname]
        if not ordered:
            raise  # it was not taken: safe to try again
        log.info("a server order's answer was lost, but the server exists: %s", ordered[-1].hash)
        return ordered[-1]


async def create_server(services: "Services", actor: Actor, account: Account, spec: ServerSpec) -> Server:
    server = await audited(
        services,
        actor,
        account,
        "server.create",
        _order(account, spec),
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
