"""ManageIT API client against a local aiohttp server serving the documented bodies.

The fixtures in ``fixtures/`` are the example responses of the provider's
documentation, copied verbatim (including the non-JSON ``{success: true}``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.manageit import (
    BackendServer,
    Forbidden,
    InvalidToken,
    IPAddress,
    LBPlan,
    LBService,
    LBTarget,
    LoadBalancer,
    Location,
    ManageITAPI,
    ManageITClient,
    ManageITError,
    NetworkError,
    NotFound,
    OSImage,
    OSVersion,
    Plan,
    Project,
    RequestTimeout,
    Server,
    ServerError,
    ServerSpecs,
    Throttled,
    UnexpectedResponse,
    User,
    ValidationFailed,
    as_list,
    as_object,
    parse_body,
)

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "tok_S3cr3tV4lue_9f8e7d6c5b4a"
PROJECT = "Ov1AZGW13h4MTW5f"
FAST = dict(timeout=2.0, retries=2, backoff=0.001)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


# Documented routes -> the documentation's example body (served verbatim).
_P = r"/api/v1/projects/[^/]+"
ROUTES: list[tuple[str, str, str, int]] = [
    ("GET", r"/api/user", "user.json", 200),
    ("GET", r"/api/v1/projects", "projects_list.json", 200),
    ("POST", r"/api/v1/projects", "projects_create.json", 201),
    ("GET", _P, "projects_get.json", 200),
    ("PUT", _P, "projects_update.json", 200),
    ("PATCH", _P, "projects_update.json", 200),
    ("DELETE", _P, "projects_delete.txt", 200),
    ("GET", r"/api/v1/servers/locations", "servers_locations.json", 200),
    ("GET", r"/api/v1/servers/os_images", "servers_os_images.json", 200),
    ("GET", r"/api/v1/servers/plans/\d+", "servers_plans.json", 200),
    ("GET", _P + r"/servers", "servers_list.json", 200),
    ("POST", _P + r"/servers", "servers_create.json", 200),
    ("GET", _P + r"/servers/[^/]+", "servers_get.json", 200),
    ("DELETE", _P + r"/servers/[^/]+", "servers_delete.json", 200),
    ("GET", r"/api/v1/load_balancers/locations", "lb_locations.json", 200),
    ("GET", r"/api/v1/load_balancers/plans", "lb_plans.json", 200),
    ("GET", _P + r"/load_balancers/[^/]+/reports", "lb_reports.json", 200),
    ("POST", _P + r"/load_balancers/[^/]+/reinstall", "lb_reinstall.json", 200),
    ("GET", _P + r"/load_balancers", "lb_list.json", 200),
    ("POST", _P + r"/load_balancers", "lb_create.json", 200),
    ("GET", _P + r"/load_balancers/[^/]+", "lb_get.json", 200),
    ("PUT", _P + r"/load_balancers/[^/]+", "lb_update.json", 200),
    ("DELETE", _P + r"/load_balancers/[^/]+", "lb_delete.json", 200),
]


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class FakeManageIT:
    """A tiny stand-in for api.manageit.ir that records every request."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.overrides: dict[tuple[str, str], Handler] = {}
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.overrides[(method, path)] = handler

    def hits_for(self, method: str, path: str) -> list[Hit]:
        return [h for h in self.hits if h.method == method and h.path == path]

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.hits.append(
            Hit(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "Unauthenticated."}, status=401)
        override = self.overrides.get((request.method, request.path))
        if override is not None:
            return await override(request)
        for method, pattern, name, status in ROUTES:
            if method == request.method and re.fullmatch(pattern, request.path):
                return web.Response(
                    text=fixture_text(name), status=status, content_type="application/json"
                )
        return web.json_response({"message": "Not Found"}, status=404)


def respond(status: int, payload: Any = None, *, text: str | None = None, headers=None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if text is not None:
            return web.Response(text=text, status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    return handler


def sequence(*handlers: Handler) -> Handler:
    """Answer with each handler in turn, the last one repeatedly."""
    remaining = list(handlers)

    async def handler(request: web.Request) -> web.StreamResponse:
        current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return await current(request)

    return handler


@pytest.fixture
async def fake():
    state = FakeManageIT()
    server = TestServer(state.app(), host="127.0.0.1")
    await server.start_server()
    state.url = str(server.make_url("/"))
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
async def api(fake):
    api = ManageITAPI(fake.url, **FAST)
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
def client(api) -> ManageITClient:
    return api.client(TOKEN)


# ============================================================ normalising layer

ITEM_A = {"id": 1, "name": "a"}
ITEM_B = {"id": 2, "name": "b"}


@pytest.mark.parametrize(
    "payload, expected",
    [
        (None, []),
        ([], []),
        ({}, []),
        ([ITEM_A, ITEM_B], [ITEM_A, ITEM_B]),
        ({"2": ITEM_B, "1": ITEM_A}, [ITEM_A, ITEM_B]),
        ({"10": ITEM_B, "9": ITEM_A}, [ITEM_A, ITEM_B]),
        ({"data": [ITEM_A, ITEM_B]}, [ITEM_A, ITEM_B]),
        ({"data": {"1": ITEM_A, "2": ITEM_B}}, [ITEM_A, ITEM_B]),
        ({"data": ITEM_A}, [ITEM_A]),
        ({"data": {"hash": "x"}}, [{"hash": "x"}]),
        ({"data": []}, []),
        ({"data": None}, []),
        ({"data": [ITEM_A], "links": {}, "meta": {"last_page": 1}}, [ITEM_A]),
        (ITEM_A, [ITEM_A]),
        ([ITEM_A, "junk", None], [ITEM_A]),
        ({"success": True}, []),
        ("text", []),
    ],
)
def test_as_list_shapes(payload, expected):
    assert as_list(payload) == expected


@pytest.mark.parametrize(
    "payload, expected",
    [
        (None, {}),
        ([], {}),
        ({}, {}),
        ({"data": ITEM_A}, ITEM_A),
        ({"data": []}, {}),
        ({"data": {"data": ITEM_A}}, ITEM_A),
        (ITEM_A, ITEM_A),
        ([ITEM_A], ITEM_A),
        ({"bk_web": [ITEM_A]}, {"bk_web": [ITEM_A]}),
    ],
)
def test_as_object_shapes(payload, expected):
    assert as_object(payload) == expected


def test_parse_body_variants():
    assert parse_body(b"") is None
    assert parse_body(b"  \n") is None
    assert parse_body(b'{"success": true}') == {"success": True}
    assert parse_body(fixture_text("projects_delete.txt").encode()) == {"success": True}
    assert parse_body("[1, 2]") == [1, 2]
    with pytest.raises(ValueError):
        parse_body(b"<html>Bad gateway</html>")


# ============================================================ models (no HTTP)


@pytest.mark.parametrize(
    "model",
    [User, Project, Location, Plan, OSVersion, OSImage, IPAddress, ServerSpecs, Server,
     LBService, LBTarget, LoadBalancer, LBPlan, BackendServer],
)
@pytest.mark.parametrize("data", [{}, None, {"id": None, "name": None, "ips": None}])
def test_models_tolerate_missing_fields(model, data):
    obj = model.from_api(data)
    assert isinstance(obj, model)
    assert not hasattr(obj, "__dict__")  # slotted
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, dataclasses.fields(obj)[0].name, "x")


def test_models_coerce_odd_types():
    plan = Plan.from_api({"id": "40", "params": {"vcpu": "2", "ram": "2147483648", "disk": 50.0},
                          "price_per_month": "219000", "visible": "1"})
    assert (plan.id, plan.vcpu, plan.ram_gb, plan.disk_gb) == (40, 2, 2.0, 50)
    assert plan.price_per_month == 219000 and plan.visible is True
    loc = Location.from_api({"id": 3, "is_visible": False})
    assert loc.visible is False
    ip = IPAddress.from_api({"ip": "2a07::1"})
    assert ip.type == "ipv6"


def test_lbservice_to_api():
    svc = LBService(protocol="tcp", source_port=80, destination_port=8080, health_check=True,
                    proxy=False, use_ssl=True)
    assert svc.to_api(include_ssl=False) == {
        "source_port": 80, "destination_port": 8080, "health_check": True, "proxy": False}
    assert svc.to_api(include_ssl=True)["use_ssl"] is True


# ============================================================ happy paths, every route


async def test_user_and_headers(client, fake):
    user = await client.user.get()
    assert user == User(id=442, name="Princess Abshire IV", email="rosalee96@example.org",
                        mobile=None, credit=0, email_verified=True, mobile_verified=False)
    (hit,) = fake.hits
    assert (hit.method, hit.path) == ("GET", "/api/user")
    assert hit.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hit.headers["Accept"] == "application/json"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.headers["User-Agent"] == "manageit-bot"


@pytest.mark.parametrize("slash", ["", "/"])
async def test_base_url_with_or_without_slash(fake, slash):
    async with ManageITAPI(fake.url.rstrip("/") + slash, **FAST) as api:
        await api.client(TOKEN).user.get()
    assert [h.path for h in fake.hits] == ["/api/user"]


async def test_projects_list_single_object_data(client):
    projects = await client.projects.list()
    assert projects == [
        Project(hash="3u3N8wrPRTp9uW1H", name="Belle Bins",
                created_at=datetime(2023, 12, 30, 4, 9, 55, tzinfo=timezone.utc),
                servers_count=0, loadbalancers_count=0)
    ]
    assert projects[0].created_at.tzinfo is not None


async def test_projects_get_create_update_delete(client, fake):
    assert (await client.projects.get(PROJECT)).hash == "I4j9CD8G4xU8Hv3h"
    created = await client.projects.create("my-project")
    assert created.hash == "w9c7MLQ9Tfcpgb9y" and created.name == "Dean Leannon"
    updated = await client.projects.update(PROJECT, "renamed")
    assert updated.name == "Murray Borer"
    assert await client.projects.delete(PROJECT) is None  # body is `{success: true}`

    assert [(h.method, h.path) for h in fake.hits] == [
        ("GET", f"/api/v1/projects/{PROJECT}"),
        ("POST", "/api/v1/projects"),
        ("PUT", f"/api/v1/projects/{PROJECT}"),
        ("DELETE", f"/api/v1/projects/{PROJECT}"),
    ]
    assert fake.hits[1].json() == {"name": "my-project"}
    assert fake.hits[2].json() == {"name": "renamed"}


async def test_path_segments_are_quoted(client, fake):
    with pytest.raises(NotFound):
        await client.projects.get("../../user")
    assert fake.hits[0].path.startswith("/api/v1/projects/")
    assert fake.hits[0].path != "/api/user"


async def test_server_locations_position_keyed(client, fake):
    locations = await client.servers.locations()
    assert [loc.id for loc in locations] == [4, 3, 2]
    assert [loc.name for loc in locations] == ["پارسیان", "شتاب", "امید"]
    assert [loc.is_default for loc in locations] == [False, True, False]
    assert all(loc.visible for loc in locations)
    assert fake.hits[0].path == "/api/v1/servers/locations"


async def test_os_images_single_page(client, fake):
    images = await client.servers.os_images()
    assert len(images) == 10
    assert len(fake.hits) == 1 and fake.hits[0].query == {}
    ubuntu = next(i for i in images if i.name == "Ubuntu")
    assert ubuntu.is_default and ubuntu.id == 6
    assert [v.version for v in ubuntu.visible_versions()] == ["22.04", "20.04", "18.04"]
    mikrotik = images[0]
    assert mikrotik.position == 0.99
    assert [v.id for v in mikrotik.visible_versions()] == [23, 24]
    windows = next(i for i in images if i.name == "windows")
    assert not any(v.is_ssh_keys_supported for v in windows.versions)


async def test_os_images_paginated_and_hidden_versions(client, fake):
    full = fixture_json("servers_os_images.json")
    page1 = {**full, "data": full["data"][:6],
             "links": {**full["links"], "next": "https://srv.manageit.ir/api/v1/os_images?page=2"},
             "meta": {**full["meta"], "last_page": 2, "per_page": 6}}
    hidden_data = json.loads(json.dumps(full["data"][6:]))
    # Ubuntu (first item of page 2): hide 20.04 and shuffle positions.
    hidden_data[0]["versions"][1]["is_visible"] = False
    hidden_data[0]["versions"][0]["position"] = 9
    page2 = {**full, "data": hidden_data,
             "meta": {**full["meta"], "current_page": 2, "last_page": 2, "per_page": 6}}

    async def paged(request: web.Request) -> web.StreamResponse:
        return web.json_response(page2 if request.query.get("page") == "2" else page1)

    fake.on("GET", "/api/v1/servers/os_images", paged)
    images = await client.servers.os_images()
    assert [i.id for i in images] == [i["id"] for i in full["data"]]
    assert [h.query for h in fake.hits] == [{}, {"page": "2"}]
    ubuntu = next(i for i in images if i.name == "Ubuntu")
    assert [v.version for v in ubuntu.visible_versions()] == ["18.04", "22.04"]
    assert len(ubuntu.versions) == 3


async def test_server_plans(client, fake):
    plans = await client.servers.plans(4)
    assert fake.hits[0].path == "/api/v1/servers/plans/4"
    assert [p.name for p in plans] == [f"GH-{n}" for n in range(1, 8)]
    gh1 = plans[0]
    assert gh1 == Plan(id=40, name="GH-1", vcpu=1, ram_bytes=1073741824, disk_gb=25,
                       price_per_month=219000, price_per_hour=305, visible=True)
    assert gh1.ram_gb == 1
    assert plans[-1].ram_gb == 12


async def test_servers_list_sparse_object(client, fake):
    servers = await client.servers.list(PROJECT)
    assert fake.hits[0].path == f"/api/v1/projects/{PROJECT}/servers"
    (srv,) = servers
    assert srv.hash == "75z30WJRph9Yiiti" and srv.uuid is None
    assert srv.specs is None and srv.location is None and srv.os_name is None
    assert srv.ips == () and srv.primary_ipv4 is None and srv.primary_ipv6 is None
    assert srv.created_at_text == "1 ثانیه پیش"
    assert (srv.status, srv.real_status, srv.price) == ("active", "started", 720000)


async def test_server_get_full(client, fake):
    srv = await client.servers.get(PROJECT, "8XuAXHsqwNIjSpxb")
    assert fake.hits[0].path == f"/api/v1/projects/{PROJECT}/servers/8XuAXHsqwNIjSpxb"
    assert srv.primary_ipv4 == "2.189.242.222"
    assert srv.primary_ipv6 == "2a07:4282:11:377::116"
    assert srv.specs == ServerSpecs(vcpu=1, ram_bytes=1073741824, disk_gb=25)
    assert srv.location == Location(id=3, name="شتاب", is_default=True, visible=True,
                                    description="دیتاسنتر شتاب")
    assert srv.os_name == "Ubuntu 22.04"
    assert srv.plan_name == "GH-1" and srv.price == 219000
    assert srv.uuid == "5b5ca1ce-b122-4f9a-bea9-31aab568fdcd"
    assert srv.ips[1].range == "2a07:4282:11:377::116/128"
    assert srv.password == "test-password"
    assert "test-password" not in repr(srv)


async def test_server_create_body(client, fake):
    srv = await client.servers.create(PROJECT, location=20, plan=5, os=17,
                                      hostname="web-server-01", password="Dg.u!G_%XA+e3oNLzmp@",
                                      ssh_keys=[17])
    assert srv.hash == "SsuFOk9MRIY5k33R"
    await client.servers.create(PROJECT, location=20, plan=5, os=17, hostname="web-server-02",
                                ssh_keys=[3])
    first, second = fake.hits
    assert (first.method, first.path) == ("POST", f"/api/v1/projects/{PROJECT}/servers")
    assert first.json() == {"location": 20, "plan": 5, "os": 17, "hostname": "web-server-01",
                            "password": "Dg.u!G_%XA+e3oNLzmp@", "ssh_keys": [17]}
    assert second.json() == {"location": 20, "plan": 5, "os": 17, "hostname": "web-server-02",
                             "ssh_keys": [3]}


async def test_server_delete(client, fake):
    assert await client.servers.delete(PROJECT, "abc") is None
    assert [(h.method, h.path) for h in fake.hits] == [
        ("DELETE", f"/api/v1/projects/{PROJECT}/servers/abc")]


async def test_lb_locations_and_plans(client, fake):
    locations = await client.load_balancers.locations()
    assert [loc.id for loc in locations] == [4, 3, 2]
    plans = await client.load_balancers.plans()
    assert plans[0] == LBPlan(id=31, name="LB01", performance=1, services=5, targets=25,
                              price=400000)
    assert [p.id for p in plans] == [31, 18, 19]
    assert [h.path for h in fake.hits] == ["/api/v1/load_balancers/locations",
                                           "/api/v1/load_balancers/plans"]


async def test_lb_list_and_get(client, fake):
    (lb,) = await client.load_balancers.list(PROJECT)
    assert lb.hash == "ze5k1MQ2uHz9JMQf" and lb.real_status == "not exist"
    assert lb.plan == 31 and lb.plan_name == "LB01" and lb.algorithm == "roundrobin"
    assert lb.primary_ipv4 == "2.189.255.210"
    assert lb.services == (LBService(protocol="tcp", source_port=443, destination_port=443,
                                     health_check=True, proxy=False, use_ssl=False),)
    assert lb.targets == (LBTarget(name="p2bNqiIPLZ8uvVkr", ip="manageit.ir"),)
    assert lb.location is not None and lb.location.id == 3
    assert lb.created_at_text == "9 دقیقه پیش"
    got = await client.load_balancers.get(PROJECT, lb.hash)
    assert isinstance(got, LoadBalancer) and got.real_status == "started"
    assert fake.hits[1].path == f"/api/v1/projects/{PROJECT}/load_balancers/{lb.hash}"


async def test_lb_create_body(client, fake):
    lb = await client.load_balancers.create(
        PROJECT, name="my-balancer", plan=19, location=8, algorithm="roundrobin",
        targets=["1.2.3.4", "example.com"],
        services=[LBService(source_port=443, destination_port=8443, health_check=True,
                            use_ssl=True),
                  {"source_port": 80, "destination_port": 8080, "health_check": False,
                   "proxy": True}],
    )
    assert lb.hash == "ze5k1MQ2uHz9JMQf"
    (hit,) = fake.hits
    assert (hit.method, hit.path) == ("POST", f"/api/v1/projects/{PROJECT}/load_balancers")
    assert hit.json() == {
        "name": "my-balancer",
        "plan": "19",
        "location": 8,
        "algorithm": "roundrobin",
        "targets": [{"ip": "1.2.3.4"}, {"ip": "example.com"}],
        "services": [
            {"source_port": 443, "destination_port": 8443, "health_check": True, "proxy": False},
            {"source_port": 80, "destination_port": 8080, "health_check": False, "proxy": True},
        ],
    }


async def test_lb_create_minimal_body(client, fake):
    await client.load_balancers.create(PROJECT, name="my-balancer", plan="31", location=3,
                                       algorithm="leastconn")
    assert fake.hits[0].json() == {"name": "my-balancer", "plan": "31", "location": 3,
                                   "algorithm": "leastconn"}


async def test_lb_update_body(client, fake):
    await client.load_balancers.update(
        PROJECT, "ze5k1MQ2uHz9JMQf", name="renamed-lb", plan=31, algorithm="leastconn",
        targets=[LBTarget(name="t", ip="10.0.0.1")],
        services=[LBService(source_port=1, destination_port=1, health_check=True, proxy=True)],
    )
    (hit,) = fake.hits
    assert (hit.method, hit.path) == (
        "PUT", f"/api/v1/projects/{PROJECT}/load_balancers/ze5k1MQ2uHz9JMQf")
    assert hit.json() == {
        "name": "renamed-lb", "plan": "31", "algorithm": "leastconn",
        "targets": [{"ip": "10.0.0.1"}],
        "services": [{"source_port": 1, "destination_port": 1, "health_check": True,
                      "proxy": True, "use_ssl": False}],
    }


async def test_lb_delete_reinstall_reports(client, fake):
    assert await client.load_balancers.delete(PROJECT, "lb1") is None
    lb = await client.load_balancers.reinstall(PROJECT, "lb1")
    assert lb.primary_ipv6 == "2a07:4282:11:377::16b"
    reports = await client.load_balancers.reports(PROJECT, "lb1")
    assert reports == {"bk_web_443": [
        BackendServer(svname="eof7z1dhLS9VD4FD", status="UP", mode="tcp", server="8.8.8.8",
                      port="443"),
        BackendServer(svname="LsQdG21uXIon3AYI", status="UP", mode="tcp", server="4.2.2.4",
                      port="443"),
    ]}
    assert all(s.is_up for s in reports["bk_web_443"])
    base = f"/api/v1/projects/{PROJECT}/load_balancers/lb1"
    assert [(h.method, h.path) for h in fake.hits] == [
        ("DELETE", base), ("POST", base + "/reinstall"), ("GET", base + "/reports")]


# ============================================================ errors, retries


async def test_invalid_token(api, fake):
    with pytest.raises(InvalidToken) as info:
        await api.client("wrong-token").user.get()
    assert info.value.status == 401
    assert info.value.message == "Unauthenticated."
    assert len(fake.hits) == 1  # 401 is not retried


async def test_forbidden_and_not_found(client, fake):
    fake.on("GET", "/api/v1/projects/nope", respond(404, {"message": "Not Found"}))
    fake.on("GET", "/api/v1/projects/theirs", respond(403, {"message": "This action is unauthorized."}))
    with pytest.raises(NotFound) as info:
        await client.projects.get("nope")
    assert info.value.status == 404
    with pytest.raises(Forbidden):
        await client.projects.get("theirs")
    assert len(fake.hits) == 2


async def test_validation_failed(client, fake):
    fake.on("POST", f"/api/v1/projects/{PROJECT}/servers", respond(422, {
        "message": "The hostname field is invalid. (and 1 more error)",
        "errors": {"hostname": ["value باید حداقل 6 حرف داشته باشد"],
                   "password": ["This field is required when sshkeys is not present."]},
    }))
    with pytest.raises(ValidationFailed) as info:
        await client.servers.create(PROJECT, location=1, plan=1, os=1, hostname="abc")
    err = info.value
    assert err.status == 422
    assert err.errors["hostname"] == ["value باید حداقل 6 حرف داشته باشد"]
    assert set(err.errors) == {"hostname", "password"}
    assert len(err.messages()) == 2
    assert isinstance(err, ManageITError)


async def test_throttled_get_is_retried_after_retry_after(client, fake):
    fake.on("GET", "/api/user", sequence(
        respond(429, {"message": "Too Many Attempts."}, headers={"Retry-After": "0.2"}),
        respond(200, fixture_json("user.json")),
    ))
    started = time.monotonic()
    user = await client.user.get()
    assert user.id == 442
    assert len(fake.hits) == 2
    assert time.monotonic() - started >= 0.2


async def test_throttled_beyond_cap_raises_at_once(client, fake):
    fake.on("GET", "/api/user", respond(429, {"message": "Too Many Attempts."},
                                        headers={"Retry-After": "45"}))
    with pytest.raises(Throttled) as info:
        await client.user.get()
    assert info.value.retry_after == 45
    assert len(fake.hits) == 1


async def test_throttled_default_retry_after(client, fake):
    fake.on("POST", "/api/v1/projects", respond(429, {"message": "Too Many Attempts."}))
    with pytest.raises(Throttled) as info:
        await client.projects.create("project")
    assert info.value.retry_after == 60
    assert len(fake.hits) == 1


async def test_post_500_is_not_retried(client, fake):
    fake.on("POST", "/api/v1/projects", respond(500, {"message": "Server Error"}))
    with pytest.raises(ServerError) as info:
        await client.projects.create("project")
    assert info.value.status == 500
    assert len(fake.hits_for("POST", "/api/v1/projects")) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_delete_5xx_not_retried(client, fake, method):
    fake.on(method, f"/api/v1/projects/{PROJECT}", respond(503, text="<html>down</html>"))
    with pytest.raises(ServerError) as info:
        if method == "PUT":
            await client.projects.update(PROJECT, "x")
        else:
            await client.projects.delete(PROJECT)
    assert info.value.status == 503
    assert len(fake.hits) == 1


async def test_get_500_retried_then_raises(client, fake, api):
    fake.on("GET", "/api/v1/projects", respond(500, {"message": "Server Error"}))
    with pytest.raises(ServerError):
        await client.projects.list()
    assert len(fake.hits) == api.retries + 1


async def test_get_502_then_success(client, fake):
    fake.on("GET", "/api/v1/projects", sequence(
        respond(502, text="Bad Gateway"), respond(200, fixture_json("projects_list.json"))))
    assert len(await client.projects.list()) == 1
    assert len(fake.hits) == 2


async def test_timeout(fake):
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.json_response(fixture_json("user.json"))

    fake.on("GET", "/api/user", slow)
    async with ManageITAPI(fake.url, timeout=0.1, retries=1, backoff=0.001) as api:
        with pytest.raises(RequestTimeout) as info:
            await api.client(TOKEN).user.get()
    assert isinstance(info.value, NetworkError) and info.value.status is None
    assert len(fake.hits) == 2  # a GET is retried on time-out


async def test_time_outs_stay_within_the_retry_budget(fake):
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.json_response(fixture_json("user.json"))

    fake.on("GET", "/api/user", slow)
    async with ManageITAPI(fake.url, timeout=0.1, retries=5, backoff=0.001) as api:
        with pytest.raises(RequestTimeout):
            await api.client(TOKEN).user.get()
    assert len(fake.hits) == 2  # not six: a person waits for the answer


async def test_connection_refused():
    async with ManageITAPI(f"http://127.0.0.1:{free_port()}", **FAST) as api:
        with pytest.raises(NetworkError) as info:
            await api.client(TOKEN).user.get()
    assert not isinstance(info.value, RequestTimeout)


async def test_unparseable_success_body(client, fake):
    fake.on("GET", "/api/user", respond(200, text="<html>maintenance</html>"))
    with pytest.raises(UnexpectedResponse):
        await client.user.get()
    fake.on("GET", "/api/v1/projects", respond(200, text=""))
    with pytest.raises(UnexpectedResponse):
        await client.projects.list()


async def test_delete_tolerates_empty_or_odd_body(client, fake):
    fake.on("DELETE", f"/api/v1/projects/{PROJECT}", respond(204, text=""))
    assert await client.projects.delete(PROJECT) is None
    fake.on("DELETE", f"/api/v1/projects/{PROJECT}/servers/x", respond(200, text="OK"))
    assert await client.servers.delete(PROJECT, "x") is None


async def test_other_4xx_and_redirect(client, fake):
    fake.on("GET", "/api/user", respond(418, {"message": "I'm a teapot"}))
    with pytest.raises(UnexpectedResponse) as info:
        await client.user.get()
    assert info.value.status == 418

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("http://evil.example/steal")

    fake.on("GET", "/api/v1/projects", redirect)
    with pytest.raises(UnexpectedResponse) as info:
        await client.projects.list()
    assert info.value.status == 302


# ============================================================ session, secrets, logging


async def test_shared_session_and_lifecycle(fake):
    api = ManageITAPI(fake.url, **FAST)
    assert api.closed
    a, b = api.client(TOKEN), api.client(TOKEN)
    await a.user.get()
    session = api._session
    await b.user.get()
    assert api._session is session and not api.closed
    await api.close()
    assert api.closed
    await api.close()  # idempotent
    with pytest.raises(ValueError):
        api.client("  ")


async def test_token_never_leaks(fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.on("GET", "/api/v1/projects", respond(500, {"message": f"db error for Bearer {TOKEN}"}))
    fake.on("POST", "/api/v1/projects", respond(422, {
        "message": f"bad {TOKEN}", "errors": {"name": [f"echo {TOKEN}"]}}))
    fake.on("GET", "/api/v1/projects/x", respond(404, {"message": "Not Found"}))

    errors: list[ManageITError] = []
    async with ManageITAPI(fake.url, **FAST) as api:
        client = api.client(TOKEN)
        for call in (client.projects.list(), client.projects.create("p"),
                     client.projects.get("x")):
            try:
                await call
            except ManageITError as exc:
                errors.append(exc)
        await client.user.get()
        async with ManageITAPI(f"http://127.0.0.1:{free_port()}", **FAST) as dead:
            try:
                await dead.client(TOKEN).user.get()
            except ManageITError as exc:
                errors.append(exc)

    assert len(errors) == 4
    secret_bits = [TOKEN, TOKEN[-4:], TOKEN[:8]]
    texts = [repr(client), str(client), repr(api), repr(client.projects)]
    for exc in errors:
        texts += [str(exc), repr(exc), exc.message, repr(getattr(exc, "errors", None)),
                  repr(exc.__cause__), repr(exc.__context__)]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
    assert caplog.records, "expected DEBUG log lines"
    for text in texts:
        for bit in secret_bits:
            assert bit not in text, text
    assert re.fullmatch(r"ManageITClient\(base_url='.*', fingerprint=[0-9a-f]{8}\)", repr(client))


async def test_debug_log_lines(client, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.manageit")
    await client.servers.plans(4)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.manageit")]
    assert any(re.fullmatch(r"GET api/v1/servers/plans/4 -> 200 in \d+ ms", line)
               for line in lines), lines
    assert not any("219000" in line or "Bearer" in line for line in lines)
