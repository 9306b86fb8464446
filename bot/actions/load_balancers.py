"""Load balancer changes: create, update (PUT), reinstall, delete.

Specs are plain data: targets are addresses (an IP or a host name), services are small
dicts with ``source_port``, ``destination_port``, ``health_check``, ``proxy`` and, for
an update, ``use_ssl``. Nothing here is secret, so the audit keeps the whole spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.actions.base import Account, Actor, audited, order_once
from bot.manageit.models import LoadBalancer

if TYPE_CHECKING:
    from bot.services import Services

ALGORITHMS = ("roundrobin", "leastconn")


@dataclass(frozen=True)
class ServiceSpec:
    source_port: int
    destination_port: int
    health_check: bool = False
    proxy: bool = False
    use_ssl: bool = False

    def body(self) -> dict:
        return {
            "source_port": int(self.source_port),
            "destination_port": int(self.destination_port),
            "health_check": bool(self.health_check),
            "proxy": bool(self.proxy),
            "use_ssl": bool(self.use_ssl),
        }

    def short(self) -> str:
        return f"{self.source_port}->{self.destination_port}"


@dataclass(frozen=True)
class LBSpec:
    """What a new load balancer is made of."""

    project_hash: str
    name: str
    location: int
    plan: int
    algorithm: str
    targets: tuple[str, ...] = ()
    services: tuple[ServiceSpec, ...] = ()

    def public_details(self) -> dict:
        return {
            "name": self.name,
            "location": self.location,
            "plan": self.plan,
            "algorithm": self.algorithm,
            "targets": list(self.targets),
            "services": [s.short() for s in self.services],
        }


@dataclass(frozen=True)
class LBUpdate:
    """The whole new state of an existing load balancer (the API's PUT takes it all)."""

    project_hash: str
    lb_hash: str
    name: str
    plan: int
    algorithm: str
    targets: tuple[str, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    changes: tuple[str, ...] = field(default=(), compare=False)  # what the user changed, for the audit

    def public_details(self) -> dict:
        return {
            "hash": self.lb_hash,
            "name": self.name,
            "plan": self.plan,
            "algorithm": self.algorithm,
            "targets": list(self.targets),
            "services": [s.short() + (" ssl" if s.use_ssl else "") for s in self.services],
            "changes": list(self.changes),
        }


async def _remember(services: "Services", account: Account, project_hash: str, lb: LoadBalancer, fallback_name: str,
                    *, keep_existing: bool = False) -> None:
    """Record the state the bot just caused, so the notifier reports only what follows."""
    async with services.db.session() as session:
        await services.watches.upsert(
            session,
            account.credential_id,
            kind="load_balancer",
            project_hash=project_hash,
            resource_hash=lb.hash,
            name=lb.name or fallback_name,
            status=lb.status,
            real_status=lb.real_status,
            detail=lb.primary_ipv4,
            keep_existing=keep_existing,
        )


async def create_load_balancer(services: "Services", actor: Actor, account: Account, spec: LBSpec) -> LoadBalancer:
    lb = await audited(
        services,
        actor,
        account,
        "load_balancer.create",
        order_once(
            lambda: account.client.load_balancers.create(
                spec.project_hash,
                name=spec.name,
                plan=str(spec.plan),
                location=spec.location,
                algorithm=spec.algorithm,
                targets=[{"ip": ip} for ip in spec.targets],
                services=[s.body() for s in spec.services],
            ),
            lambda: account.client.load_balancers.list(spec.project_hash),
            spec.name,
        ),
        project_hash=spec.project_hash,
        target=spec.name,
        details=spec.public_details(),
    )
    if lb.hash:
        await _remember(services, account, spec.project_hash, lb, spec.name, keep_existing=True)
    return lb


async def update_load_balancer(services: "Services", actor: Actor, account: Account, spec: LBUpdate) -> LoadBalancer:
    lb = await audited(
        services,
        actor,
        account,
        "load_balancer.update",
        account.client.load_balancers.update(
            spec.project_hash,
            spec.lb_hash,
            name=spec.name,
            plan=str(spec.plan),
            algorithm=spec.algorithm,
            targets=[{"ip": ip} for ip in spec.targets],
            services=[s.body() for s in spec.services],
        ),
        project_hash=spec.project_hash,
        target=spec.name,
        details=spec.public_details(),
    )
    return lb


async def reinstall_load_balancer(
    services: "Services", actor: Actor, account: Account, project_hash: str, lb_hash: str, name: str
) -> LoadBalancer:
    lb = await audited(
        services,
        actor,
        account,
        "load_balancer.reinstall",
        account.client.load_balancers.reinstall(project_hash, lb_hash),
        project_hash=project_hash,
        target=name,
        details={"hash": lb_hash},
    )
    if lb.hash:
        # "reinstalling" is what the user just asked for; the notice worth sending is "active again".
        await _remember(services, account, project_hash, lb, name)
    return lb


async def delete_load_balancer(
    services: "Services", actor: Actor, account: Account, project_hash: str, lb_hash: str, name: str
) -> None:
    await audited(
        services,
        actor,
        account,
        "load_balancer.delete",
        account.client.load_balancers.delete(project_hash, lb_hash),
        project_hash=project_hash,
        target=name,
        details={"hash": lb_hash},
    )
    async with services.db.session() as session:
        known = await services.watches.get_all(session, account.credential_id)
        for kind, resource_hash, sub_key in known:
            if resource_hash == lb_hash and kind in ("load_balancer", "lb_backend"):
                await services.watches.delete(session, account.credential_id, kind, resource_hash, sub_key)
