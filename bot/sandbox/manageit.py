"""A local stand-in of the ManageIT public API (used by ``demo`` and by the tests).

Plain aiohttp; independent of the rest of the bot. It serves every documented route
(``shared/api/ENDPOINTS.md``) with the documentation's shapes, keeps per-user state in
memory, validates bodies the Laravel way (HTTP 422, Persian rule texts) and can be told
to be slow, to fail or to throttle. A control API under ``/_sandbox/`` (no auth) lets
tests and the demo steer it.

Transitions are lazy: a new server or load balancer carries a ``ready_at`` time and is
moved to its final state by the first request that arrives after it (or by
``POST /_sandbox/settle``).

Run stand-alone: ``python -m bot.sandbox.manageit --port 8081``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import hashlib
import json
import logging
import math
import random
import re
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from aiohttp import web

from . import manageit_seed as seed

__all__ = [
    "SANDBOX_STATE",
    "SandboxConfig",
    "SandboxLoadBalancer",
    "SandboxProject",
    "SandboxServer",
    "SandboxState",
    "MESSAGES",
    "create_sandbox_app",
    "run_sandbox",
]

log = logging.getLogger(__name__)

DEMO_TOKEN = "demo-token"


def _default_tokens() -> dict[str, dict]:
    return {DEMO_TOKEN: {"id": 1, "name": "Demo User", "email": "demo@example.com"}}


@dataclass
class SandboxConfig:
    # token -> user profile (id, name, email, ...); tokens with the same id share state
    tokens: dict[str, dict] = field(default_factory=_default_tokens)
    transition_delay: float = 5.0  # seconds a new server / LB stays transitional
    latency: float = 0.0  # added to every API request
    latency_by_token: dict[str, float] = field(default_factory=dict)  # extra, per token
    latency_after: float = 0.0  # added after the request was carried out (a late answer to a done change)
    error_rate: float = 0.0  # share of API requests answered 500 (0..1), random
    fail_next: int = 0  # the next N API requests answer 500
    throttle_next: int = 0  # the next N API requests answer 429 with Retry-After
    retry_after: int = 1
    fault_method: str = ""  # when set (e.g. "POST"), fail_next/throttle_next/error_rate hit only that method
    fault_token: str = ""  # when set, fail_next/throttle_next/error_rate/latency_after hit only this token
    quirks: bool = True  # answer with the documentation's odd shapes
    seed: int | None = None


# Switches POST /_sandbox/config may change, with their coercion.
_SWITCHES: dict[str, Callable[[Any], Any]] = {}


# --------------------------------------------------------------------------- messages

# Laravel rule texts, Persian as in the documentation. ``{f}`` is the field name
# (Laravel's :attribute, e.g. ``hostname`` or ``services.0.destination_port``).
MESSAGES: dict[str, str] = {
    "required": "{f} الزامی است.",
    "required_with": "زمانی که {other} موجود است، {f} الزامی است.",
    "required_without": "زمانی که {other} موجود نیست، {f} الزامی است.",
    "string": "{f} باید رشته باشد.",
    "integer": "{f} باید عدد صحیح باشد.",
    "boolean": "{f} فقط می‌تواند true و یا false باشد.",
    "array": "{f} باید آرایه باشد.",
    "regex": "فرمت {f} معتبر نیست.",
    "min_string": "{f} باید حداقل {n} حرف داشته باشد.",
    "max_string": "{f} نباید بیشتر از {n} حرف باشد.",
    "max_array": "{f} نباید بیشتر از {n} آیتم داشته باشد.",
    "between": "{f} باید بین {a} و {b} باشد.",
    "exists": "{f} انتخاب شده معتبر نیست.",
    "in": "{f} انتخاب شده معتبر نیست.",
    "ssh_unsupported": "سیستم عامل انتخاب شده از کلید SSH پشتیبانی نمی‌کند.",
    "project_not_empty": "این پروژه دارای سرور یا لودبالانسر است؛ ابتدا آن‌ها را حذف کنید.",
}

UNAUTHENTICATED = {"message": "Unauthenticated."}
SERVER_ERROR = {"message": "Server Error"}
TOO_MANY = {"message": "Too Many Attempts."}

NAME_RE = re.compile(r"^[a-zA-Z0-9-.]+$")
HASH_ALPHABET = string.ascii_letters + string.digits
PORT_MIN, PORT_MAX = 0, 65535

# Transitional and final statuses (open-ended strings on the client side).
SERVER_CREATING = ("creating", "not exist")
LB_CREATING = ("creating", "not exist")
LB_REINSTALLING = ("reinstalling", "not exist")
READY = ("active", "started")


# --------------------------------------------------------------------------- helpers


def iso(ts: float) -> str:
    """Laravel's JSON timestamp: ``2023-12-30T04:09:55.000000Z``."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def humanize_fa(seconds: float) -> str:
    """Carbon's Persian ``diffForHumans`` (``15 ثانیه پیش``), Latin digits as in the docs."""
    s = max(1, int(seconds))
    for size, unit in ((31536000, "سال"), (2592000, "ماه"), (604800, "هفته"), (86400, "روز"), (3600, "ساعت"), (60, "دقیقه")):
        if s >= size:
            return f"{s // size} {unit} پیش"
    return f"{s} ثانیه پیش"


def _present(value: Any) -> bool:
    """Laravel's ``required``: not null, not blank string, not empty array."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return True


def _as_int(value: Any) -> int | None:
    """Laravel's ``integer`` rule (accepts ``5`` and ``"5"``); None when not an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return None


def _as_bool(value: Any) -> bool | None:
    """Laravel's ``boolean`` rule: true, false, 0, 1, "0", "1"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in ("0", "1"):
        return value == "1"
    return None


class _Validator:
    """Collects Laravel-style errors: first failing rule per field, fields in rule order."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, f: str, rule: str, **kw: Any) -> None:
        if f not in self.errors:
            self.errors[f] = [MESSAGES[rule].format(f=f, **kw)]

    def has(self, f: str) -> bool:
        return f in self.errors

    def name(self, data: dict, f: str, lo: int | None, hi: int, regex: bool, required: bool = True) -> str | None:
        v = data.get(f)
        if not _present(v):
            if required:
                self.add(f, "required")
            return None
        if not isinstance(v, str):
            self.add(f, "string")
            return None
        if regex and not NAME_RE.match(v):
            self.add(f, "regex")
        elif lo is not None and len(v) < lo:
            self.add(f, "min_string", n=lo)
        elif len(v) > hi:
            self.add(f, "max_string", n=hi)
        return v

    def integer(self, data: dict, f: str) -> int | None:
        v = data.get(f)
        if not _present(v):
            self.add(f, "required")
            return None
        n = _as_int(v)
        if n is None:
            self.add(f, "integer")
        return n

    def response(self) -> web.Response | None:
        if not self.errors:
            return None
        first = next(iter(self.errors.values()))[0]
        return _json({"message": first, "errors": self.errors}, status=422)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def _not_found(model: str, key: Any) -> web.Response:
    return _json({"message": f"No query results for model [App\\Models\\{model}] {key}"}, status=404)


async def _body(request: web.Request) -> dict:
    """The JSON body as a dict; anything else counts as no input (Laravel does the same)."""
    try:
        raw = await request.text()
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


async def _logged_body(request: web.Request) -> Any:
    """The request's JSON as sent (None if it had none or it was not JSON), passwords redacted."""
    if not request.can_read_body:
        return None
    try:
        raw = await request.text()
        return _redacted(json.loads(raw)) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None


def _redacted(value: Any) -> Any:
    """A request body for the log: every "password" field (at any depth) reads "***"."""
    if isinstance(value, dict):
        return {k: "***" if k == "password" else _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


# --------------------------------------------------------------------------- state


@dataclass
class SandboxServer:
    hash: str
    project_hash: str
    user_id: Any
    name: str
    location_id: int
    plan: dict
    os_version_id: int
    os_name: str  # "Ubuntu 22.04"
    os_image: dict  # the image record (icon, name)
    password: str
    ssh_keys: list[int]
    created: float
    status: str
    real_status: str
    ready_at: float | None
    provisioned: bool = False
    uuid: str | None = None
    ips: list[dict] = field(default_factory=list)
    mac_address: str = ""
    vnc_password: str = ""


@dataclass
class SandboxLoadBalancer:
    hash: str
    project_hash: str
    user_id: Any
    name: str
    location_id: int
    plan_id: int
    algorithm: str
    targets: list[dict]
    services: list[dict]
    created: float
    status: str
    real_status: str
    ready_at: float | None
    provisioned: bool = False
    uuid: str | None = None
    ips: list[dict] = field(default_factory=list)
    target_status: dict[str, str] = field(default_factory=dict)  # ip -> "DOWN" / "UP"


@dataclass
class SandboxProject:
    hash: str
    user_id: Any
    name: str
    created: float
    servers: dict[str, SandboxServer] = field(default_factory=dict)
    load_balancers: dict[str, SandboxLoadBalancer] = field(default_factory=dict)


@dataclass
class UserState:
    user_id: Any
    projects: dict[str, SandboxProject] = field(default_factory=dict)


class SandboxState:
    """Everything the sandbox knows. ``app[SANDBOX_STATE]``; tests may read and poke it."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._initial = copy.deepcopy(config)
        self.clock: Callable[[], float] = time.time
        self.locations = copy.deepcopy(seed.LOCATIONS)
        self.os_images = copy.deepcopy(seed.OS_IMAGES)
        self.server_plans = seed.server_plans()
        self.lb_plans = copy.deepcopy(seed.LB_PLANS)
        self.users: dict[Any, UserState] = {}
        self.request_log: list[dict] = []
        self.request_log_limit = 10_000
        self._used_ips: set[str] = set()
        self._rng = random.Random(config.seed)
        self._fault_rng = random.Random(None if config.seed is None else config.seed + 1)

    # -- lookups -----------------------------------------------------------------

    def location(self, loc_id: int) -> dict | None:
        return next((loc for loc in self.locations if loc["id"] == loc_id), None)

    def plan(self, plan_id: int) -> tuple[int, dict] | None:
        for loc_id, plans in self.server_plans.items():
            for p in plans:
                if p["id"] == plan_id:
                    return loc_id, p
        return None

    def lb_plan(self, plan_id: int) -> dict | None:
        return next((p for p in self.lb_plans if p["id"] == plan_id), None)

    def os_version(self, version_id: int) -> tuple[dict, dict] | None:
        for image in self.os_images:
            for v in image["versions"]:
                if v["id"] == version_id:
                    return image, v
        return None

    def token_id(self, token: str) -> str:
        """A stable, non-secret id for a token (for logs and dumps)."""
        return hashlib.sha256(token.encode()).hexdigest()[:12]

    def profile_for_token(self, token: str | None) -> dict | None:
        if not token:
            return None
        profile = self.config.tokens.get(token)
        if profile is None:
            return None
        return {"id": profile.get("id", self.token_id(token)), **{k: v for k, v in profile.items() if k != "id"}}

    def user(self, user_id: Any) -> UserState:
        if user_id not in self.users:
            self.users[user_id] = UserState(user_id)
        return self.users[user_id]

    def all_servers(self):
        for u in self.users.values():
            for p in u.projects.values():
                yield from p.servers.values()

    def all_load_balancers(self):
        for u in self.users.values():
            for p in u.projects.values():
                yield from p.load_balancers.values()

    def find_server(self, server_hash: str) -> SandboxServer | None:
        return next((s for s in self.all_servers() if s.hash == server_hash), None)

    def find_load_balancer(self, lb_hash: str) -> SandboxLoadBalancer | None:
        return next((lb for lb in self.all_load_balancers() if lb.hash == lb_hash), None)

    def requests(self, method: str | None = None, path: str | None = None, user_id: Any = None) -> list[dict]:
        """Logged API requests, filtered (``path`` matches as a substring).

        Each entry: method, path, status, user_id, token_id, at; and for a request other
        than GET, ``body``: its JSON as sent (None without one), every "password" "***"."""
        return [
            e
            for e in self.request_log
            if (method is None or e["method"] == method.upper())
            and (path is None or path in e["path"])
            and (user_id is None or e["user_id"] == user_id)
        ]

    # -- generators --------------------------------------------------------------

    def new_hash(self) -> str:
        return "".join(self._rng.choice(HASH_ALPHABET) for _ in range(16))

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_ips(self, now: float) -> list[dict]:
        while True:
            a, b = self._rng.randint(1, 254), self._rng.randint(130, 254)
            v4 = f"2.189.{a}.{b}"
            if v4 not in self._used_ips:
                break
        while True:
            v6 = f"2a07:4282:11:377::{self._rng.randint(0x100, 0xFFF):x}"
            if v6 not in self._used_ips:
                break
        self._used_ips.update((v4, v6))
        stamp = iso(now)
        return [
            {"ip": v4, "range": None, "type": "ipv4", "is_primary": True, "gateway": f"2.189.{a}.129", "created_at": stamp},
            {"ip": v6, "range": f"{v6}/128", "type": "ipv6", "is_primary": True, "gateway": "2a07:4282:11:377::1", "created_at": stamp},
        ]

    def new_password(self, n: int = 12) -> str:
        return "".join(self._rng.choice(HASH_ALPHABET) for _ in range(n))

    def new_mac(self) -> str:
        return "52:54:00:" + ":".join(f"{self._rng.randint(0, 255):02x}" for _ in range(3))

    def fault_roll(self) -> float:
        return self._fault_rng.random()

    # -- transitions -------------------------------------------------------------

    def _finish(self, res: SandboxServer | SandboxLoadBalancer, now: float) -> None:
        res.ready_at = None
        res.status, res.real_status = READY
        if not res.provisioned:
            res.provisioned = True
            res.uuid = self.new_uuid()
            if not res.ips:
                res.ips = self.new_ips(now)

    def advance(self, now: float | None = None) -> None:
        """Finish every transition whose time has come."""
        now = self.clock() if now is None else now
        for res in (*self.all_servers(), *self.all_load_balancers()):
            if res.ready_at is not None and now >= res.ready_at:
                self._finish(res, now)

    def settle(self) -> int:
        """Finish all transitions now; returns how many were finished."""
        now = self.clock()
        count = 0
        for res in (*self.all_servers(), *self.all_load_balancers()):
            if res.ready_at is not None:
                self._finish(res, now)
                count += 1
        return count

    def force_status(self, res: SandboxServer | SandboxLoadBalancer, status: str | None, real_status: str | None) -> None:
        if res.ready_at is not None:
            self._finish(res, self.clock())
        if status is not None:
            res.status = status
        if real_status is not None:
            res.real_status = real_status

    # -- reset and dump ----------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh sandbox: no projects, empty log, the initial switches and tokens."""
        for f in dataclasses.fields(SandboxConfig):
            setattr(self.config, f.name, copy.deepcopy(getattr(self._initial, f.name)))
        self.users.clear()
        self.request_log.clear()
        self._used_ips.clear()
        self._rng = random.Random(self.config.seed)
        self._fault_rng = random.Random(None if self.config.seed is None else self.config.seed + 1)

    def config_dump(self) -> dict:
        out = {f.name: getattr(self.config, f.name) for f in dataclasses.fields(SandboxConfig) if f.name != "tokens"}
        out["latency_by_token"] = {self.token_id(t): v for t, v in self.config.latency_by_token.items()}
        out["fault_token"] = self.token_id(self.config.fault_token) if self.config.fault_token else ""
        out["tokens"] = {self.token_id(t): self.profile_for_token(t) for t in self.config.tokens}
        return out

    def dump(self) -> dict:
        def res_dump(obj: Any) -> dict:
            return dataclasses.asdict(obj)

        return {
            "now": self.clock(),
            "config": self.config_dump(),
            "users": {
                str(uid): {
                    "projects": [
                        {
                            "hash": p.hash,
                            "name": p.name,
                            "created_at": iso(p.created),
                            "servers": [res_dump(s) for s in p.servers.values()],
                            "load_balancers": [res_dump(lb) for lb in p.load_balancers.values()],
                        }
                        for p in u.projects.values()
                    ]
                }
                for uid, u in self.users.items()
            },
            "request_log": self.request_log[-500:],
        }


SANDBOX_STATE: web.AppKey[SandboxState] = web.AppKey("manageit_sandbox_state", SandboxState)
# request key: the caller's profile (RequestKey where this aiohttp has it)
_USER: Any = web.RequestKey("sandbox_user", dict) if hasattr(web, "RequestKey") else "sandbox_user"


# --------------------------------------------------------------------------- rendering


def _quirky_collection(items: list, quirks: bool) -> Any:
    """Projects and servers: one item comes as a bare object in the documented examples."""
    if quirks and len(items) == 1:
        return items[0]
    return items


def _keyed(items: list, quirks: bool, start: int = 1) -> Any:
    """Locations and plans come keyed by position strings (``{"1": {...}}``)."""
    if quirks:
        return {str(i): item for i, item in enumerate(items, start)}
    return items


def _location_listed(loc: dict) -> dict:
    return {k: loc[k] for k in ("id", "name", "icon", "is_default", "visible")}


def _location_embedded(loc: dict) -> dict:
    icon = loc["icon"]
    return {
        "id": loc["id"],
        "icon": {"id": icon["id"], "url": icon["url"], "name": icon["name"], "type": icon["type"]},
        "name": loc["name"],
        "position": loc["position"],
        "is_default": loc["is_default"],
        "is_visible": loc["visible"],
        "description": loc["description"],
    }


def render_project(p: SandboxProject) -> dict:
    return {
        "id": p.hash,
        "hash": p.hash,
        "name": p.name,
        "created_at": iso(p.created),
        "servers_count": len(p.servers),
        "loadbalancers_count": len(p.load_balancers),
    }


def _os_image_url(os_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", os_name.lower()).strip("-")
    return f"https://images.manageit.ir/{slug}.img"


def render_server(state: SandboxState, s: SandboxServer, now: float) -> dict:
    quirks = state.config.quirks
    bare = quirks and not s.provisioned
    loc = state.location(s.location_id)
    specs: Any = [] if bare else {"ram": s.plan["params"]["ram"], "disk": s.plan["params"]["disk"], "vcpu": s.plan["params"]["vcpu"]}
    settings: Any = (
        []
        if bare
        else {
            "user": "root",
            "os_image": {
                "url": _os_image_url(s.os_name),
                "icon": s.os_image["icon"]["url"],
                "name": s.os_name,
                "type": "os_image",
                "cloud_init_version": "v2",
            },
            "disk_driver": "scsi",
            "mac_address": s.mac_address,
            "vnc_enabled": True,
            "vnc_password": s.vnc_password,
            "disk_cache_mode": "none",
            "guest_agent_available": False,
            "guest_tools_installed": True,
            "application_login_link": [],
        }
    )
    return {
        "id": s.hash,
        "hash": s.hash,
        "uuid": s.uuid,
        "name": s.name,
        "username": "root",
        "password": s.password,
        "plan_name": s.plan["name"],
        "price": s.plan["price_per_month"],
        "total_price_usage": 0,
        "real_status": s.real_status,
        "status": s.status,
        "specifications": specs,
        "location": None if bare or loc is None else _location_embedded(loc),
        "settings": settings,
        "payment_type": "hourly",
        "created_at": humanize_fa(now - s.created),
        "traffic": 0,
        "ips": [dict(ip) for ip in s.ips],
    }


def render_load_balancer(state: SandboxState, lb: SandboxLoadBalancer, now: float) -> dict:
    plan = state.lb_plan(lb.plan_id) or {"name": "", "price": 0}
    loc = state.location(lb.location_id)
    return {
        "id": lb.hash,
        "hash": lb.hash,
        "name": lb.name,
        "uuid": lb.uuid,
        "algorithm": lb.algorithm,
        "plan": lb.plan_id,
        "plan_name": plan["name"],
        "price": plan["price"],
        "network_incoming": 0,
        "network_outgoing": 0,
        "real_status": lb.real_status,
        "status": lb.status,
        "location": None if loc is None else _location_embedded(loc),
        "created_at": humanize_fa(now - lb.created),
        "services": [dict(svc) for svc in lb.services],
        "targets": [dict(t) for t in lb.targets],
        "traffic": 0,
        "total_price_usage": 0,
        "payment_type": "hourly",
        "ips": [dict(ip) for ip in lb.ips],
        "domains": [],
    }


def render_reports(lb: SandboxLoadBalancer) -> dict:
    """One backend per health-checked service, one entry per target."""
    up = lb.real_status == "started"
    out: dict[str, list[dict]] = {}
    for svc in lb.services:
        if not svc["health_check"]:
            continue
        key = f"bk_web_{svc['source_port']}"
        n = 2
        while key in out:
            key = f"bk_web_{svc['source_port']}_{n}"
            n += 1
        out[key] = [
            {
                "svname": t["name"],
                "status": "UP" if up and lb.target_status.get(t["ip"], "UP") == "UP" else "DOWN",
                "mode": "tcp",
                "server": t["ip"],
                "port": str(svc["destination_port"]),
            }
            for t in lb.targets
        ]
    return out


# --------------------------------------------------------------------------- middleware


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@web.middleware
async def _api_middleware(request: web.Request, handler):
    if not request.path.startswith("/api/"):
        return await handler(request)
    state = request.app[SANDBOX_STATE]
    cfg = state.config
    token = _bearer(request)
    profile = state.profile_for_token(token)
    entry = {
        "method": request.method,
        "path": request.path,
        "status": None,
        "user_id": profile["id"] if profile else None,
        "token_id": state.token_id(token) if token else None,
        "at": state.clock(),
    }
    if request.method != "GET":  # what was sent, for tests to read (aiohttp keeps it for the handler too)
        entry["body"] = await _logged_body(request)
    response: web.StreamResponse
    try:
        delay = cfg.latency + (cfg.latency_by_token.get(token, 0.0) if token else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        faults_apply = (not cfg.fault_method or request.method == cfg.fault_method.upper()) and (
            not cfg.fault_token or token == cfg.fault_token
        )
        if cfg.throttle_next > 0 and faults_apply:
            cfg.throttle_next -= 1
            response = _json(
                TOO_MANY,
                status=429,
                headers={"Retry-After": str(cfg.retry_after), "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0"},
            )
        elif cfg.fail_next > 0 and faults_apply:
            cfg.fail_next -= 1
            response = _json(SERVER_ERROR, status=500)
        elif faults_apply and cfg.error_rate > 0 and state.fault_roll() < cfg.error_rate:
            response = _json(SERVER_ERROR, status=500)
        elif profile is None:
            response = _json(UNAUTHENTICATED, status=401)
        else:
            request[_USER] = profile
            state.advance()
            try:
                response = await handler(request)
                if cfg.latency_after > 0 and faults_apply:
                    await asyncio.sleep(cfg.latency_after)
            except web.HTTPNotFound:
                response = _json({"message": f"The route {request.path.lstrip('/')} could not be found."}, status=404)
            except web.HTTPMethodNotAllowed:
                response = _json(
                    {"message": f"The {request.method} method is not supported for route {request.path.lstrip('/')}."},
                    status=405,
                )
            except web.HTTPException:
                raise
            except Exception:  # noqa: BLE001 - a sandbox answers like Laravel does
                log.exception("sandbox handler failed")
                response = _json(SERVER_ERROR, status=500)
    except asyncio.CancelledError:
        entry["status"] = 499
        raise
    finally:
        state.request_log.append(entry)
        if len(state.request_log) > state.request_log_limit:
            del state.request_log[: len(state.request_log) - state.request_log_limit]
    entry["status"] = response.status
    return response


# --------------------------------------------------------------------------- API handlers


def _st(request: web.Request) -> SandboxState:
    return request.app[SANDBOX_STATE]


def _me(request: web.Request) -> UserState:
    return _st(request).user(request[_USER]["id"])


def _project(request: web.Request) -> SandboxProject | None:
    return _me(request).projects.get(request.match_info["project"])


def _user_payload(profile: dict) -> dict:
    base = {"id": profile.get("id"), "name": profile.get("name"), "email": profile.get("email")}
    base.update(seed.USER_DEFAULTS)
    base.update(profile)
    return base


async def user_profile(request: web.Request) -> web.Response:
    return _json({"data": _user_payload(request[_USER])})


# -- projects ---------------------------------------------------------------------


async def list_projects(request: web.Request) -> web.Response:
    items = [render_project(p) for p in _me(request).projects.values()]
    return _json({"data": _quirky_collection(items, _st(request).config.quirks)})


async def create_project(request: web.Request) -> web.Response:
    data = await _body(request)
    v = _Validator()
    name = v.name(data, "name", 3, 100, regex=False)
    if (resp := v.response()) is not None:
        return resp
    state = _st(request)
    p = SandboxProject(hash=state.new_hash(), user_id=request[_USER]["id"], name=name, created=state.clock())
    _me(request).projects[p.hash] = p
    return _json({"data": render_project(p)}, status=201)


async def get_project(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    return _json({"data": render_project(p)})


async def update_project(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    data = await _body(request)
    v = _Validator()
    name = v.name(data, "name", None, 100, regex=False)
    if (resp := v.response()) is not None:
        return resp
    p.name = name
    return _json({"data": render_project(p)})


async def delete_project(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    if p.servers or p.load_balancers:
        msg = MESSAGES["project_not_empty"]
        return _json({"message": msg, "errors": {"project": [msg]}}, status=422)
    del _me(request).projects[p.hash]
    if _st(request).config.quirks:
        # As documented: not valid JSON, but labelled as JSON.
        return web.Response(text="{success: true}", content_type="application/json")
    return _json({"success": True})


# -- catalogue --------------------------------------------------------------------


async def server_locations(request: web.Request) -> web.Response:
    state = _st(request)
    return _json(_keyed([_location_listed(loc) for loc in state.locations], state.config.quirks))


async def os_images(request: web.Request) -> web.Response:
    state = _st(request)
    images = copy.deepcopy(state.os_images)
    if not state.config.quirks:
        return _json({"data": images})
    per_page = 50
    total = len(images)
    last = max(1, math.ceil(total / per_page))
    page = _as_int(request.query.get("page", "1")) or 1
    page = max(1, page)
    chunk = images[(page - 1) * per_page : page * per_page]
    path = f"{request.scheme}://{request.host}{request.path}"

    def url(n: int | None) -> str | None:
        return None if n is None else f"{path}?page={n}"

    prev_page = page - 1 if page > 1 else None
    next_page = page + 1 if page < last else None
    return _json(
        {
            "data": chunk,
            "links": {"first": url(1), "last": url(last), "prev": url(prev_page), "next": url(next_page)},
            "meta": {
                "current_page": page,
                "from": (page - 1) * per_page + 1 if chunk else None,
                "last_page": last,
                "links": [
                    {"url": url(prev_page), "label": "« Previous", "active": False},
                    *({"url": url(n), "label": str(n), "active": n == page} for n in range(1, last + 1)),
                    {"url": url(next_page), "label": "Next »", "active": False},
                ],
                "path": path,
                "per_page": per_page,
                "to": (page - 1) * per_page + len(chunk) if chunk else None,
                "total": total,
            },
        }
    )


async def server_plans(request: web.Request) -> web.Response:
    state = _st(request)
    raw = request.match_info["location_id"]
    loc_id = _as_int(raw)
    if loc_id is None or loc_id not in state.server_plans:
        return _not_found("Location", raw)
    plans = copy.deepcopy(state.server_plans[loc_id])
    return _json(_keyed(plans, state.config.quirks, start=seed.PLAN_KEY_START))


async def lb_locations(request: web.Request) -> web.Response:
    state = _st(request)
    locs = [_location_listed(loc) for loc in state.locations if loc["id"] in seed.LB_LOCATION_IDS]
    return _json(_keyed(locs, state.config.quirks))


async def lb_plans(request: web.Request) -> web.Response:
    state = _st(request)
    return _json(_keyed(copy.deepcopy(state.lb_plans), state.config.quirks))


# -- servers ----------------------------------------------------------------------


async def list_servers(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    state = _st(request)
    now = state.clock()
    items = [render_server(state, s, now) for s in p.servers.values()]
    return _json({"data": _quirky_collection(items, state.config.quirks)})


async def create_server(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    state = _st(request)
    data = await _body(request)
    v = _Validator()

    location_id = v.integer(data, "location")
    if location_id is not None and state.location(location_id) is None:
        v.add("location", "exists")
    plan_id = v.integer(data, "plan")
    plan = None
    if plan_id is not None:
        found = state.plan(plan_id)
        if found is None or (not v.has("location") and location_id is not None and found[0] != location_id):
            v.add("plan", "exists")
        else:
            plan = found[1]
    os_id = v.integer(data, "os")
    os_found = None
    if os_id is not None:
        os_found = state.os_version(os_id)
        if os_found is None or not os_found[1]["is_visible"] or not os_found[0]["is_visible"]:
            v.add("os", "exists")
            os_found = None
    hostname = v.name(data, "hostname", 6, 100, regex=True)

    ssh_keys_raw = data.get("ssh_keys")
    ssh_present = _present(ssh_keys_raw)
    password = data.get("password")
    if not _present(password):
        if not ssh_present:
            v.add("password", "required_without", other="ssh keys")
        password = None
    elif not isinstance(password, str):
        v.add("password", "string")
    elif len(password) < 8:
        v.add("password", "min_string", n=8)
    elif len(password) > 100:
        v.add("password", "max_string", n=100)

    ssh_keys: list[int] = []
    if ssh_keys_raw is not None:
        if not isinstance(ssh_keys_raw, list):
            v.add("ssh_keys", "array")
        else:
            for i, k in enumerate(ssh_keys_raw):
                n = _as_int(k)
                if n is None:
                    v.add(f"ssh_keys.{i}", "integer")
                else:
                    ssh_keys.append(n)
            if ssh_keys and os_found is not None and not os_found[1]["is_ssh_keys_supported"]:
                v.add("ssh_keys", "ssh_unsupported")

    if (resp := v.response()) is not None:
        return resp

    assert plan is not None and os_found is not None and location_id is not None and hostname is not None
    image, version = os_found
    now = state.clock()
    s = SandboxServer(
        hash=state.new_hash(),
        project_hash=p.hash,
        user_id=p.user_id,
        name=hostname,
        location_id=location_id,
        plan=copy.deepcopy(plan),
        os_version_id=version["id"],
        os_name=f"{image['name']} {version['version']}",
        os_image={"id": image["id"], "name": image["name"], "icon": dict(image["icon"])},
        password=password if password is not None else state.new_password(),
        ssh_keys=ssh_keys,
        created=now,
        status=SERVER_CREATING[0],
        real_status=SERVER_CREATING[1],
        ready_at=now + max(0.0, float(state.config.transition_delay)),
        mac_address=state.new_mac(),
        vnc_password=state.new_password(8),
    )
    p.servers[s.hash] = s
    return _json({"data": render_server(state, s, now)})


def _server(request: web.Request) -> tuple[SandboxProject | None, SandboxServer | None, web.Response | None]:
    p = _project(request)
    if p is None:
        return None, None, _not_found("Project", request.match_info["project"])
    s = p.servers.get(request.match_info["server"])
    if s is None:
        return p, None, _not_found("Server", request.match_info["server"])
    return p, s, None


async def get_server(request: web.Request) -> web.Response:
    _, s, err = _server(request)
    if err is not None:
        return err
    state = _st(request)
    return _json({"data": render_server(state, s, state.clock())})


async def delete_server(request: web.Request) -> web.Response:
    p, s, err = _server(request)
    if err is not None:
        return err
    del p.servers[s.hash]
    return _json({"success": True})


# -- load balancers ---------------------------------------------------------------


def _validate_lb(state: SandboxState, data: dict, update: bool) -> tuple[_Validator, dict]:
    v = _Validator()
    out: dict[str, Any] = {}
    out["name"] = v.name(data, "name", 6, 50 if update else 100, regex=True)

    plan = None
    raw_plan = data.get("plan")
    if not _present(raw_plan):
        v.add("plan", "required")
    elif not isinstance(raw_plan, str):
        v.add("plan", "string")
    elif raw_plan.strip() not in {str(p["id"]) for p in state.lb_plans}:
        v.add("plan", "in")
    else:
        plan = state.lb_plan(int(raw_plan.strip()))
    out["plan"] = plan

    if not update:
        loc_id = v.integer(data, "location")
        if loc_id is not None and (loc_id not in seed.LB_LOCATION_IDS or state.location(loc_id) is None):
            v.add("location", "exists")
        out["location"] = loc_id

    algorithm = data.get("algorithm")
    if not _present(algorithm):
        v.add("algorithm", "required")
    elif algorithm not in ("roundrobin", "leastconn"):
        v.add("algorithm", "in")
    out["algorithm"] = algorithm

    targets = data.get("targets")
    out["targets"] = None
    if targets is not None:
        if not isinstance(targets, list):
            v.add("targets", "array")
        else:
            if plan is not None and len(targets) > plan["targets"]:
                v.add("targets", "max_array", n=plan["targets"])
            ips = []
            for i, t in enumerate(targets):
                f = f"targets.{i}.ip"
                ip = t.get("ip") if isinstance(t, dict) else None
                if not _present(ip):
                    v.add(f, "required_with", other="targets")
                elif not isinstance(ip, str):
                    v.add(f, "string")
                elif len(ip) > 255:
                    v.add(f, "max_string", n=255)
                else:
                    ips.append(ip.strip())
            out["targets"] = ips

    services = data.get("services")
    out["services"] = None
    if services is not None:
        if not isinstance(services, list):
            v.add("services", "array")
        else:
            if plan is not None and len(services) > plan["services"]:
                v.add("services", "max_array", n=plan["services"])
            parsed = []
            bool_fields = ("health_check", "use_ssl", "proxy") if update else ("health_check", "proxy")
            for i, svc in enumerate(services):
                svc = svc if isinstance(svc, dict) else {}
                item: dict[str, Any] = {}
                for key in ("source_port", "destination_port"):
                    f = f"services.{i}.{key}"
                    raw = svc.get(key)
                    if not _present(raw) and raw != 0:
                        v.add(f, "required_with", other="services")
                        continue
                    n = _as_int(raw)
                    if n is None:
                        v.add(f, "integer")
                    elif not PORT_MIN <= n <= PORT_MAX:
                        v.add(f, "between", a=PORT_MIN, b=PORT_MAX)
                    else:
                        item[key] = n
                for key in bool_fields:
                    f = f"services.{i}.{key}"
                    raw = svc.get(key)
                    if raw is None or raw == "":
                        v.add(f, "required_with", other="services")
                        continue
                    b = _as_bool(raw)
                    if b is None:
                        v.add(f, "boolean")
                    else:
                        item[key] = b
                parsed.append(item)
            out["services"] = parsed
    return v, out


def _apply_lb_lists(lb: SandboxLoadBalancer, state: SandboxState, targets: list[str] | None, services: list[dict] | None, now: float) -> None:
    stamp = iso(now)
    if targets is not None:
        old = {t["ip"]: t for t in lb.targets}
        new_targets = []
        for ip in targets:
            if ip in old:
                new_targets.append(old.pop(ip))
            else:
                new_targets.append({"name": state.new_hash(), "ip": ip, "created_at": stamp, "updated_at": stamp})
        lb.targets = new_targets
        keep = {t["ip"] for t in lb.targets}
        lb.target_status = {ip: st for ip, st in lb.target_status.items() if ip in keep}
    if services is not None:
        old_svcs = {svc["source_port"]: svc for svc in lb.services}
        new_services = []
        for item in services:
            prev = old_svcs.get(item["source_port"])
            new_services.append(
                {
                    "protocol": "tcp",
                    "source_port": item["source_port"],
                    "destination_port": item["destination_port"],
                    "health_check": item["health_check"],
                    "proxy": item["proxy"],
                    "use_ssl": item.get("use_ssl", prev["use_ssl"] if prev else False),
                    "created_at": prev["created_at"] if prev else stamp,
                    "updated_at": stamp,
                }
            )
        lb.services = new_services


def _lb(request: web.Request) -> tuple[SandboxProject | None, SandboxLoadBalancer | None, web.Response | None]:
    p = _project(request)
    if p is None:
        return None, None, _not_found("Project", request.match_info["project"])
    lb = p.load_balancers.get(request.match_info["lb"])
    if lb is None:
        return p, None, _not_found("LoadBalancer", request.match_info["lb"])
    return p, lb, None


async def list_lbs(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    state = _st(request)
    now = state.clock()
    return _json({"data": [render_load_balancer(state, lb, now) for lb in p.load_balancers.values()]})


async def create_lb(request: web.Request) -> web.Response:
    p = _project(request)
    if p is None:
        return _not_found("Project", request.match_info["project"])
    state = _st(request)
    v, data = _validate_lb(state, await _body(request), update=False)
    if (resp := v.response()) is not None:
        return resp
    now = state.clock()
    lb = SandboxLoadBalancer(
        hash=state.new_hash(),
        project_hash=p.hash,
        user_id=p.user_id,
        name=data["name"],
        location_id=data["location"],
        plan_id=data["plan"]["id"],
        algorithm=data["algorithm"],
        targets=[],
        services=[],
        created=now,
        status=LB_CREATING[0],
        real_status=LB_CREATING[1],
        ready_at=now + max(0.0, float(state.config.transition_delay)),
    )
    _apply_lb_lists(lb, state, data["targets"] or [], data["services"] or [], now)
    p.load_balancers[lb.hash] = lb
    return _json({"data": render_load_balancer(state, lb, now)})


async def get_lb(request: web.Request) -> web.Response:
    _, lb, err = _lb(request)
    if err is not None:
        return err
    state = _st(request)
    return _json({"data": render_load_balancer(state, lb, state.clock())})


async def update_lb(request: web.Request) -> web.Response:
    _, lb, err = _lb(request)
    if err is not None:
        return err
    state = _st(request)
    v, data = _validate_lb(state, await _body(request), update=True)
    # Limits also apply to the lists the update keeps.
    if not v.errors and data["plan"] is not None:
        plan = data["plan"]
        if data["targets"] is None and len(lb.targets) > plan["targets"]:
            v.add("targets", "max_array", n=plan["targets"])
        if data["services"] is None and len(lb.services) > plan["services"]:
            v.add("services", "max_array", n=plan["services"])
    if (resp := v.response()) is not None:
        return resp
    now = state.clock()
    lb.name = data["name"]
    lb.plan_id = data["plan"]["id"]
    lb.algorithm = data["algorithm"]
    _apply_lb_lists(lb, state, data["targets"], data["services"], now)
    return _json({"data": render_load_balancer(state, lb, now)})


async def delete_lb(request: web.Request) -> web.Response:
    p, lb, err = _lb(request)
    if err is not None:
        return err
    del p.load_balancers[lb.hash]
    return _json({"success": True})


async def reinstall_lb(request: web.Request) -> web.Response:
    _, lb, err = _lb(request)
    if err is not None:
        return err
    state = _st(request)
    now = state.clock()
    lb.status, lb.real_status = LB_REINSTALLING
    lb.ready_at = now + max(0.0, float(state.config.transition_delay))
    return _json({"data": render_load_balancer(state, lb, now)})


async def lb_reports(request: web.Request) -> web.Response:
    _, lb, err = _lb(request)
    if err is not None:
        return err
    return _json(render_reports(lb))


# --------------------------------------------------------------------------- control API


def _nonneg_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ValueError("must be a number >= 0")
    return float(v)


def _nonneg_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError("must be an integer >= 0")
    return v


def _rate(v: Any) -> float:
    f = _nonneg_float(v)
    if f > 1:
        raise ValueError("must be between 0 and 1")
    return f


def _latency_map(v: Any) -> dict[str, float]:
    if not isinstance(v, dict):
        raise ValueError("must be an object token -> seconds")
    return {str(k): _nonneg_float(x) for k, x in v.items()}


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("must be true or false")
    return v


_SWITCHES.update(
    {
        "latency": _nonneg_float,
        "latency_by_token": _latency_map,
        "latency_after": _nonneg_float,
        "error_rate": _rate,
        "fail_next": _nonneg_int,
        "throttle_next": _nonneg_int,
        "retry_after": _nonneg_int,
        "transition_delay": _nonneg_float,
        "quirks": _boolean,
        "fault_method": lambda v: str(v or "").upper(),
        "fault_token": lambda v: str(v or ""),
    }
)


def _bad(message: str, status: int = 400) -> web.Response:
    return _json({"message": message}, status=status)


async def ctl_state(request: web.Request) -> web.Response:
    state = _st(request)
    state.advance()
    return _json(state.dump())


async def ctl_config(request: web.Request) -> web.Response:
    state = _st(request)
    data = await _body(request)
    updates = {}
    for key, value in data.items():
        coerce = _SWITCHES.get(key)
        if coerce is None:
            return _bad(f"unknown or read-only switch: {key}")
        try:
            updates[key] = coerce(value)
        except ValueError as exc:
            return _bad(f"{key} {exc}")
    for key, value in updates.items():
        setattr(state.config, key, value)
    return _json({"config": state.config_dump()})


async def ctl_tokens(request: web.Request) -> web.Response:
    state = _st(request)
    data = await _body(request)
    token = data.get("token")
    user = data.get("user")
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        return _bad("token must be a non-empty string without spaces")
    if not isinstance(user, dict):
        return _bad("user must be an object")
    user = dict(user)
    if "id" not in user:
        ids = [p.get("id") for p in state.config.tokens.values()]
        user["id"] = max([i for i in ids if isinstance(i, int)] + [0]) + 1
    state.config.tokens[token] = user
    return _json({"token_id": state.token_id(token), "user": _user_payload(user)})


async def ctl_reset(request: web.Request) -> web.Response:
    _st(request).reset()
    return _json({"success": True})


async def ctl_settle(request: web.Request) -> web.Response:
    return _json({"success": True, "settled": _st(request).settle()})


async def ctl_target_status(request: web.Request) -> web.Response:
    state = _st(request)
    state.advance()
    lb = state.find_load_balancer(request.match_info["lb"])
    if lb is None:
        return _bad("load balancer not found", 404)
    data = await _body(request)
    ip, status = data.get("ip"), data.get("status")
    if status not in ("UP", "DOWN"):
        return _bad('status must be "UP" or "DOWN"')
    if ip not in {t["ip"] for t in lb.targets}:
        return _bad("no such target on this load balancer", 404)
    lb.target_status[ip] = status
    return _json({"success": True, "reports": render_reports(lb)})


async def _ctl_force(request: web.Request, res: SandboxServer | SandboxLoadBalancer | None) -> web.Response:
    state = _st(request)
    if res is None:
        return _bad("not found", 404)
    data = await _body(request)
    status, real_status = data.get("status"), data.get("real_status")
    if status is None and real_status is None:
        return _bad("give status and/or real_status")
    if any(x is not None and not isinstance(x, str) for x in (status, real_status)):
        return _bad("status and real_status must be strings")
    state.force_status(res, status, real_status)
    return _json({"success": True, "status": res.status, "real_status": res.real_status})


async def ctl_server_status(request: web.Request) -> web.Response:
    state = _st(request)
    state.advance()
    return await _ctl_force(request, state.find_server(request.match_info["server"]))


async def ctl_lb_status(request: web.Request) -> web.Response:
    state = _st(request)
    state.advance()
    return await _ctl_force(request, state.find_load_balancer(request.match_info["lb"]))


# --------------------------------------------------------------------------- app


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (state at ``app[SANDBOX_STATE]``)."""
    app = web.Application(middlewares=[_api_middleware])
    app[SANDBOX_STATE] = SandboxState(config if config is not None else SandboxConfig())
    r = app.router

    r.add_get("/api/user", user_profile)

    r.add_get("/api/v1/projects", list_projects)
    r.add_post("/api/v1/projects", create_project)
    r.add_get("/api/v1/projects/{project}", get_project)
    r.add_put("/api/v1/projects/{project}", update_project)
    r.add_patch("/api/v1/projects/{project}", update_project)
    r.add_delete("/api/v1/projects/{project}", delete_project)

    r.add_get("/api/v1/servers/locations", server_locations)
    r.add_get("/api/v1/servers/os_images", os_images)
    r.add_get("/api/v1/servers/plans/{location_id}", server_plans)

    r.add_get("/api/v1/projects/{project}/servers", list_servers)
    r.add_post("/api/v1/projects/{project}/servers", create_server)
    r.add_get("/api/v1/projects/{project}/servers/{server}", get_server)
    r.add_delete("/api/v1/projects/{project}/servers/{server}", delete_server)

    r.add_get("/api/v1/load_balancers/locations", lb_locations)
    r.add_get("/api/v1/load_balancers/plans", lb_plans)

    r.add_get("/api/v1/projects/{project}/load_balancers", list_lbs)
    r.add_post("/api/v1/projects/{project}/load_balancers", create_lb)
    r.add_get("/api/v1/projects/{project}/load_balancers/{lb}", get_lb)
    r.add_put("/api/v1/projects/{project}/load_balancers/{lb}", update_lb)
    r.add_patch("/api/v1/projects/{project}/load_balancers/{lb}", update_lb)
    r.add_delete("/api/v1/projects/{project}/load_balancers/{lb}", delete_lb)
    r.add_get("/api/v1/projects/{project}/load_balancers/{lb}/reports", lb_reports)
    r.add_post("/api/v1/projects/{project}/load_balancers/{lb}/reinstall", reinstall_lb)

    r.add_get("/_sandbox/state", ctl_state)
    r.add_post("/_sandbox/config", ctl_config)
    r.add_post("/_sandbox/tokens", ctl_tokens)
    r.add_post("/_sandbox/reset", ctl_reset)
    r.add_post("/_sandbox/settle", ctl_settle)
    r.add_post("/_sandbox/load_balancers/{lb}/targets/status", ctl_target_status)
    r.add_post("/_sandbox/load_balancers/{lb}/status", ctl_lb_status)
    r.add_post("/_sandbox/servers/{server}/status", ctl_server_status)
    return app


async def run_sandbox(host: str = "127.0.0.1", port: int = 8081, config: SandboxConfig | None = None) -> None:
    """Serve the sandbox until cancelled."""
    app = create_sandbox_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for addr in runner.addresses:
            if isinstance(addr, tuple) and len(addr) >= 2:
                log.info("ManageIT sandbox listening on http://%s:%s", addr[0], addr[1])
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _main() -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description="Run the ManageIT API sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--transition-delay", type=float, default=5.0)
    parser.add_argument("--no-quirks", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    cfg = SandboxConfig(transition_delay=args.transition_delay, quirks=not args.no_quirks)
    try:
        asyncio.run(run_sandbox(args.host, args.port, cfg))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    _main()
