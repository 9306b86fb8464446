"""Typed, immutable views of ManageIT API objects.

Every model is built with ``Model.from_api(dict)`` and tolerates missing or
oddly-typed fields (it falls back to defaults instead of raising).  Status-like
values are kept as open-ended strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from .normalize import as_list, as_object

__all__ = [
    "User",
    "Project",
    "Location",
    "Plan",
    "OSVersion",
    "OSImage",
    "IPAddress",
    "ServerSpecs",
    "Server",
    "LBService",
    "LBTarget",
    "LoadBalancer",
    "LBPlan",
    "BackendServer",
    "parse_reports",
]

_GIB = 1024**3


# --------------------------------------------------------------------------- coercion


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return _parse_int(_parse_float(text))
    return None


def _parse_float(value: Any) -> float | None:
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _int(value: Any, default: int = 0) -> int:
    result = _parse_int(value)
    return default if result is None else result


def _opt_int(value: Any) -> int | None:
    return _parse_int(value)


def _float(value: Any, default: float = 0.0) -> float:
    result = _parse_float(value)
    return default if result is None or not math.isfinite(result) else result


def _number(value: Any) -> int | float:
    """An amount that is usually integral (Toman) but may carry decimals."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    f = _float(value)
    return int(f) if f.is_integer() else f


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on", "y"):
            return True
        if text in ("0", "false", "no", "off", "n", ""):
            return False
    return default


def _str(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return default


def _opt_str(value: Any) -> str | None:
    if isinstance(value, (str, int, float)):
        return _str(value)
    return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _dict(value: Any) -> dict[str, Any]:
    """A nested object that may be ``[]`` or ``null`` instead of ``{}``."""
    return value if isinstance(value, dict) else {}


def _hash(data: dict[str, Any]) -> str:
    return _str(data.get("hash")) or _str(data.get("id"))


def _first(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return None


# --------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class User:
    id: int = 0
    name: str = ""
    email: str = ""
    mobile: str | None = None
    credit: int | float = 0
    email_verified: bool = False
    mobile_verified: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> User:
        data = _dict(data)
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            email=_str(data.get("email")),
            mobile=_opt_str(data.get("mobile")),
            credit=_number(data.get("credit")),
            email_verified=_bool(data.get("email_verified")),
            mobile_verified=_bool(data.get("mobile_verified")),
        )


@dataclass(frozen=True, slots=True)
class Project:
    hash: str = ""
    name: str = ""
    created_at: datetime | None = None
    servers_count: int = 0
    loadbalancers_count: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Project:
        data = _dict(data)
        return cls(
            hash=_hash(data),
            name=_str(data.get("name")),
            created_at=_datetime(data.get("created_at")),
            servers_count=_int(data.get("servers_count")),
            loadbalancers_count=_int(data.get("loadbalancers_count")),
        )


@dataclass(frozen=True, slots=True)
class Location:
    id: int = 0
    name: str = ""
    is_default: bool = False
    visible: bool = True
    description: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Location:
        data = _dict(data)
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            is_default=_bool(data.get("is_default")),
            visible=_bool(_first(data, "visible", "is_visible"), default=True),
            description=_opt_str(data.get("description")),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    id: int = 0
    name: str = ""
    vcpu: int = 0
    ram_bytes: int = 0
    disk_gb: int = 0
    price_per_month: int = 0
    price_per_hour: int = 0
    visible: bool = True

    @property
    def ram_gb(self) -> float:
        return self.ram_bytes / _GIB

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Plan:
        data = _dict(data)
        params = _dict(data.get("params"))
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            vcpu=_int(params.get("vcpu", data.get("vcpu"))),
            ram_bytes=_int(params.get("ram", data.get("ram"))),
            disk_gb=_int(params.get("disk", data.get("disk"))),
            price_per_month=_int(data.get("price_per_month")),
            price_per_hour=_int(data.get("price_per_hour")),
            visible=_bool(_first(data, "visible", "is_visible"), default=True),
        )


@dataclass(frozen=True, slots=True)
class OSVersion:
    id: int = 0
    version: str = ""
    position: float = 0.0
    is_ssh_keys_supported: bool = False
    is_visible: bool = True

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> OSVersion:
        data = _dict(data)
        return cls(
            id=_int(data.get("id")),
            version=_str(data.get("version")),
            position=_float(data.get("position")),
            is_ssh_keys_supported=_bool(data.get("is_ssh_keys_supported")),
            is_visible=_bool(_first(data, "is_visible", "visible"), default=True),
        )


@dataclass(frozen=True, slots=True)
class OSImage:
    id: int = 0
    name: str = ""
    is_default: bool = False
    is_visible: bool = True
    position: float = 0.0
    versions: tuple[OSVersion, ...] = ()

    def visible_versions(self) -> list[OSVersion]:
        """Visible versions, ordered by ``position`` (hidden ones left out)."""
        return sorted((v for v in self.versions if v.is_visible), key=lambda v: v.position)

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> OSImage:
        data = _dict(data)
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            is_default=_bool(data.get("is_default")),
            is_visible=_bool(_first(data, "is_visible", "visible"), default=True),
            position=_float(data.get("position")),
            versions=tuple(OSVersion.from_api(v) for v in as_list(data.get("versions"))),
        )


@dataclass(frozen=True, slots=True)
class IPAddress:
    ip: str = ""
    type: str = ""
    is_primary: bool = False
    gateway: str | None = None
    range: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> IPAddress:
        data = _dict(data)
        ip = _str(data.get("ip"))
        kind = _str(data.get("type")).lower()
        if not kind and ip:
            kind = "ipv6" if ":" in ip else "ipv4"
        return cls(
            ip=ip,
            type=kind,
            is_primary=_bool(data.get("is_primary")),
            gateway=_opt_str(data.get("gateway")),
            range=_opt_str(data.get("range")),
        )


def _primary(ips: Iterable[IPAddress], kind: str) -> str | None:
    candidates = [ip for ip in ips if ip.type == kind and ip.ip]
    for ip in candidates:
        if ip.is_primary:
            return ip.ip
    return candidates[0].ip if candidates else None


def _ips(value: Any) -> tuple[IPAddress, ...]:
    return tuple(IPAddress.from_api(ip) for ip in as_list(value))


def _location(value: Any) -> Location | None:
    data = _dict(value)
    return Location.from_api(data) if data else None


@dataclass(frozen=True, slots=True)
class ServerSpecs:
    vcpu: int | None = None
    ram_bytes: int | None = None
    disk_gb: int | None = None

    @property
    def ram_gb(self) -> float | None:
        return None if self.ram_bytes is None else self.ram_bytes / _GIB

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> ServerSpecs:
        data = _dict(data)
        return cls(
            vcpu=_opt_int(data.get("vcpu")),
            ram_bytes=_opt_int(data.get("ram")),
            disk_gb=_opt_int(data.get("disk")),
        )


@dataclass(frozen=True, slots=True)
class Server:
    hash: str = ""
    name: str = ""
    uuid: str | None = None
    username: str = ""
    password: str | None = field(default=None, repr=False)
    plan_name: str = ""
    price: int = 0
    total_price_usage: int | float = 0
    status: str = ""
    real_status: str = ""
    specs: ServerSpecs | None = None
    location: Location | None = None
    os_name: str | None = None
    created_at_text: str = ""
    ips: tuple[IPAddress, ...] = ()

    @property
    def primary_ipv4(self) -> str | None:
        return _primary(self.ips, "ipv4")

    @property
    def primary_ipv6(self) -> str | None:
        return _primary(self.ips, "ipv6")

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Server:
        data = _dict(data)
        specs_data = _dict(data.get("specifications"))
        settings = _dict(data.get("settings"))
        os_image = _dict(settings.get("os_image"))
        return cls(
            hash=_hash(data),
            name=_str(data.get("name")),
            uuid=_opt_str(data.get("uuid")),
            username=_str(data.get("username")),
            password=_opt_str(data.get("password")),
            plan_name=_str(data.get("plan_name")),
            price=_int(data.get("price")),
            total_price_usage=_number(data.get("total_price_usage")),
            status=_str(data.get("status")),
            real_status=_str(data.get("real_status")),
            specs=ServerSpecs.from_api(specs_data) if specs_data else None,
            location=_location(data.get("location")),
            os_name=_opt_str(os_image.get("name")) if os_image else None,
            created_at_text=_str(data.get("created_at")),
            ips=_ips(data.get("ips")),
        )


@dataclass(frozen=True, slots=True)
class LBService:
    protocol: str = "tcp"
    source_port: int = 0
    destination_port: int = 0
    health_check: bool = False
    proxy: bool = False
    use_ssl: bool = False

    def to_api(self, include_ssl: bool = False) -> dict[str, Any]:
        """The request-body form: create takes no ``use_ssl``, update requires it."""
        body: dict[str, Any] = {
            "source_port": int(self.source_port),
            "destination_port": int(self.destination_port),
            "health_check": bool(self.health_check),
            "proxy": bool(self.proxy),
        }
        if include_ssl:
            body["use_ssl"] = bool(self.use_ssl)
        return body

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> LBService:
        data = _dict(data)
        return cls(
            protocol=_str(data.get("protocol"), default="tcp"),
            source_port=_int(data.get("source_port")),
            destination_port=_int(data.get("destination_port")),
            health_check=_bool(data.get("health_check")),
            proxy=_bool(data.get("proxy")),
            use_ssl=_bool(data.get("use_ssl")),
        )


@dataclass(frozen=True, slots=True)
class LBTarget:
    name: str = ""
    ip: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> LBTarget:
        data = _dict(data)
        return cls(name=_str(data.get("name")), ip=_str(data.get("ip")))


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    hash: str = ""
    name: str = ""
    uuid: str | None = None
    algorithm: str = ""
    plan: int = 0
    plan_name: str = ""
    price: int = 0
    status: str = ""
    real_status: str = ""
    location: Location | None = None
    services: tuple[LBService, ...] = ()
    targets: tuple[LBTarget, ...] = ()
    ips: tuple[IPAddress, ...] = ()
    created_at_text: str = ""

    @property
    def primary_ipv4(self) -> str | None:
        return _primary(self.ips, "ipv4")

    @property
    def primary_ipv6(self) -> str | None:
        return _primary(self.ips, "ipv6")

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> LoadBalancer:
        data = _dict(data)
        return cls(
            hash=_hash(data),
            name=_str(data.get("name")),
            uuid=_opt_str(data.get("uuid")),
            algorithm=_str(data.get("algorithm")),
            plan=_int(data.get("plan")),
            plan_name=_str(data.get("plan_name")),
            price=_int(data.get("price")),
            status=_str(data.get("status")),
            real_status=_str(data.get("real_status")),
            location=_location(data.get("location")),
            services=tuple(LBService.from_api(s) for s in as_list(data.get("services"))),
            targets=tuple(LBTarget.from_api(t) for t in as_list(data.get("targets"))),
            ips=_ips(data.get("ips")),
            created_at_text=_str(data.get("created_at")),
        )


@dataclass(frozen=True, slots=True)
class LBPlan:
    id: int = 0
    name: str = ""
    performance: int = 0
    services: int = 0
    targets: int = 0
    price: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> LBPlan:
        data = _dict(data)
        return cls(
            id=_int(_first(data, "id", "plan")),
            name=_str(data.get("name")),
            performance=_int(data.get("performance")),
            services=_int(data.get("services")),
            targets=_int(data.get("targets")),
            price=_int(data.get("price")),
        )


@dataclass(frozen=True, slots=True)
class BackendServer:
    svname: str = ""
    status: str = ""
    mode: str = ""
    server: str = ""
    port: str = ""

    @property
    def is_up(self) -> bool:
        return self.status.upper() == "UP"

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> BackendServer:
        data = _dict(data)
        return cls(
            svname=_str(data.get("svname")),
            status=_str(data.get("status")),
            mode=_str(data.get("mode")),
            server=_str(data.get("server")),
            port=_str(data.get("port")),
        )


def parse_reports(payload: Any) -> dict[str, list[BackendServer]]:
    """``{"<backend>": [server, ...]}`` → ``{backend: [BackendServer, ...]}``."""
    return {
        str(backend): [BackendServer.from_api(s) for s in as_list(servers)]
        for backend, servers in as_object(payload).items()
    }
