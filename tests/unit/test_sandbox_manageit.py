"""Tests for the ManageIT sandbox (bot/sandbox/manageit.py)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.manageit import SANDBOX_STATE, SandboxConfig, create_sandbox_app

TOKEN = "demo-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HASH_RE = re.compile(r"^[A-Za-z0-9]{16}$")

SERVER_BODY = {"location": 4, "plan": 40, "os": 18, "hostname": "web-01.example", "password": "s3cretpass"}
LB_BODY = {
    "name": "lb-main",
    "plan": "31",
    "location": 3,
    "algorithm": "roundrobin",
    "targets": [{"ip": "8.8.8.8"}, {"ip": "4.2.2.4"}],
    "services": [
        {"source_port": 443, "destination_port": 8443, "health_check": True, "proxy": False},
        {"source_port": 80, "destination_port": 80, "health_check": False, "proxy": False},
    ],
}


@pytest_asyncio.fixture
async def make_client():
    clients: list[TestClient] = []

    async def factory(**cfg) -> TestClient:
        cfg.setdefault("seed", 7)
        client = TestClient(TestServer(create_sandbox_app(SandboxConfig(**cfg))))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest_asyncio.fixture
async def client(make_client):
    return await make_client(transition_delay=0.05)


@pytest_asyncio.fixture
async def plain(make_client):
    return await make_client(transition_delay=0.05, quirks=False)


def state_of(client: TestClient):
    return client.server.app[SANDBOX_STATE]


async def new_project(client: TestClient, name: str = "web-shop") -> dict:
    r = await client.post("/api/v1/projects", json={"name": name}, headers=AUTH)
    assert r.status == 201
    return (await r.json())["data"]


async def new_server(client: TestClient, project: str, **overrides) -> dict:
    r = await client.post(f"/api/v1/projects/{project}/servers", json={**SERVER_BODY, **overrides}, headers=AUTH)
    assert r.status == 200, await r.text()
    return (await r.json())["data"]


async def new_lb(client: TestClient, project: str, **overrides) -> dict:
    r = await client.post(f"/api/v1/projects/{project}/load_balancers", json={**LB_BODY, **overrides}, headers=AUTH)
    assert r.status == 200, await r.text()
    return (await r.json())["data"]


async def error_of(resp) -> tuple[int, dict]:
    return resp.status, await resp.json()


# --------------------------------------------------------------------------- auth


async def test_auth_required(client):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic demo-token"}):
        r = await client.get("/api/user", headers=headers)
        assert r.status == 401
        assert await r.json() == {"message": "Unauthenticated."}
    r = await client.get("/api/user", headers=AUTH)
    assert r.status == 200
    data = (await r.json())["data"]
    assert data == {
        "id": 1,
        "name": "Demo User",
        "email": "demo@example.com",
        "mobile": None,
        "credit": 0,
        "email_verified": True,
        "mobile_verified": False,
    }


async def test_state_is_per_user_and_shared_by_user_id(make_client):
    c = await make_client(
        tokens={
            "tok-a": {"id": 1, "name": "A", "email": "a@x"},
            "tok-a2": {"id": 1, "name": "A", "email": "a@x"},
            "tok-b": {"id": 2, "name": "B", "email": "b@x"},
        }
    )
    r = await c.post("/api/v1/projects", json={"name": "alpha"}, headers={"Authorization": "Bearer tok-a"})
    p = (await r.json())["data"]
    r = await c.get(f"/api/v1/projects/{p['hash']}", headers={"Authorization": "Bearer tok-a2"})
    assert r.status == 200
    r = await c.get(f"/api/v1/projects/{p['hash']}", headers={"Authorization": "Bearer tok-b"})
    assert r.status == 404
    assert "message" in await r.json()
    r = await c.get("/api/v1/projects", headers={"Authorization": "Bearer tok-b"})
    assert (await r.json()) == {"data": []}


# --------------------------------------------------------------------------- catalogue


async def test_catalogue_quirk_shapes(client):
    r = await client.get("/api/v1/servers/locations", headers=AUTH)
    locs = await r.json()
    assert list(locs) == ["1", "2", "3"]
    assert [v["id"] for v in locs.values()] == [4, 3, 2]
    assert locs["2"] == {
        "id": 3,
        "name": "شتاب",
        "icon": {"id": 203, "name": "Iran", "type": "flags", "url": "https://srv.manageit.ir/shared/icons/flags/iran.svg"},
        "is_default": True,
        "visible": True,
    }

    r = await client.get("/api/v1/servers/plans/4", headers=AUTH)
    plans = await r.json()
    assert list(plans) == ["2", "3", "4", "5", "6", "7", "8"]
    assert plans["2"] == {
        "id": 40,
        "name": "GH-1",
        "params": {"vcpu": 1, "ram": 1073741824, "disk": 25},
        "price_per_month": 219000,
        "price_per_hour": 305,
        "visible": True,
    }
    assert [p["name"] for p in plans.values()] == [f"GH-{i}" for i in range(1, 8)]
    for loc in (3, 2):
        r = await client.get(f"/api/v1/servers/plans/{loc}", headers=AUTH)
        assert len(await r.json()) == 7
    r = await client.get("/api/v1/servers/plans/99", headers=AUTH)
    assert r.status == 404

    r = await client.get("/api/v1/load_balancers/locations", headers=AUTH)
    assert [v["id"] for v in (await r.json()).values()] == [4, 3, 2]
    r = await client.get("/api/v1/load_balancers/plans", headers=AUTH)
    lbp = await r.json()
    assert [(p["id"], p["services"], p["targets"], p["price"]) for p in lbp.values()] == [
        (31, 5, 25, 400000),
        (18, 15, 75, 900000),
        (19, 30, 150, 2500000),
    ]

    r = await client.get("/api/v1/servers/os_images", headers=AUTH)
    body = await r.json()
    assert set(body) == {"data", "links", "meta"}
    assert body["meta"]["per_page"] == 50 and body["meta"]["total"] == 10 and body["meta"]["last_page"] == 1
    assert body["links"]["next"] is None
    names = [i["name"] for i in body["data"]]
    assert names == ["Mikrotik", "AlmaLinux", "AlpineLinux", "CentOS", "Debian", "RockyLinux", "Ubuntu", "windows", "Fedora", "OpenSUSE"]
    versions = {v["id"]: v for i in body["data"] for v in i["versions"]}
    assert versions[18]["version"] == "22.04" and versions[18]["is_visible"] is True
    hidden = [v for v in versions.values() if not v["is_visible"]]
    assert len(hidden) == 1
    assert versions[20]["is_ssh_keys_supported"] is False


async def test_catalogue_plain_shapes(plain):
    r = await plain.get("/api/v1/servers/locations", headers=AUTH)
    assert [loc["id"] for loc in await r.json()] == [4, 3, 2]
    r = await plain.get("/api/v1/servers/plans/4", headers=AUTH)
    assert [p["id"] for p in await r.json()] == list(range(40, 47))
    r = await plain.get("/api/v1/load_balancers/plans", headers=AUTH)
    assert [p["id"] for p in await r.json()] == [31, 18, 19]
    r = await plain.get("/api/v1/load_balancers/locations", headers=AUTH)
    assert isinstance(await r.json(), list)
    r = await plain.get("/api/v1/servers/os_images", headers=AUTH)
    body = await r.json()
    assert list(body) == ["data"] and len(body["data"]) == 10


# --------------------------------------------------------------------------- projects


async def test_project_crud_and_quirks(client):
    r = await client.get("/api/v1/projects", headers=AUTH)
    assert await r.json() == {"data": []}
    p = await new_project(client)
    assert HASH_RE.match(p["hash"]) and p["id"] == p["hash"]
    assert p["servers_count"] == 0 and p["loadbalancers_count"] == 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$", p["created_at"])

    r = await client.get("/api/v1/projects", headers=AUTH)
    assert (await r.json())["data"] == p  # one item: a bare object, as documented
    await new_project(client, "second")
    r = await client.get("/api/v1/projects", headers=AUTH)
    assert [x["name"] for x in (await r.json())["data"]] == ["web-shop", "second"]

    for method in ("put", "patch"):
        r = await client.request(method, f"/api/v1/projects/{p['hash']}", json={"name": f"renamed-{method}"}, headers=AUTH)
        assert r.status == 200
        assert (await r.json())["data"]["name"] == f"renamed-{method}"
    r = await client.get(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert (await r.json())["data"]["name"] == "renamed-patch"

    r = await client.delete(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert await r.text() == "{success: true}"
    with pytest.raises(json.JSONDecodeError):
        json.loads(await r.text())
    r = await client.get(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert r.status == 404


async def test_project_plain_shapes(plain):
    p = await new_project(plain)
    r = await plain.get("/api/v1/projects", headers=AUTH)
    assert (await r.json())["data"] == [p]
    r = await plain.delete(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert await r.json() == {"success": True}


async def test_project_validation(client):
    status, body = await error_of(await client.post("/api/v1/projects", json={"name": "ab"}, headers=AUTH))
    assert status == 422
    assert body == {
        "message": "name باید حداقل 3 حرف داشته باشد.",
        "errors": {"name": ["name باید حداقل 3 حرف داشته باشد."]},
    }
    status, body = await error_of(await client.post("/api/v1/projects", json={}, headers=AUTH))
    assert status == 422 and "name" in body["errors"]
    status, body = await error_of(await client.post("/api/v1/projects", json={"name": "x" * 101}, headers=AUTH))
    assert body["message"] == "name نباید بیشتر از 100 حرف باشد."
    p = await new_project(client)
    r = await client.put(f"/api/v1/projects/{p['hash']}", json={"name": "ab"}, headers=AUTH)
    assert r.status == 200  # update has no minimum
    status, body = await error_of(await client.put(f"/api/v1/projects/{p['hash']}", json={"name": "y" * 101}, headers=AUTH))
    assert status == 422 and body["errors"]["name"] == ["name نباید بیشتر از 100 حرف باشد."]


async def test_delete_project_with_servers_refused(client):
    p = await new_project(client)
    await new_server(client, p["hash"])
    status, body = await error_of(await client.delete(f"/api/v1/projects/{p['hash']}", headers=AUTH))
    assert status == 422 and body["message"]


# --------------------------------------------------------------------------- servers


async def test_server_lifecycle_and_transition(client):
    p = await new_project(client)
    s = await new_server(client, p["hash"])
    assert HASH_RE.match(s["hash"])
    assert (s["status"], s["real_status"]) == ("creating", "not exist")
    assert s["ips"] == [] and s["uuid"] is None
    assert s["location"] is None and s["specifications"] == [] and s["settings"] == []
    assert s["password"] == "s3cretpass" and s["username"] == "root"
    assert s["plan_name"] == "GH-1" and s["price"] == 219000
    assert s["created_at"].endswith("ثانیه پیش")

    r = await client.get(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert (await r.json())["data"]["servers_count"] == 1
    r = await client.get(f"/api/v1/projects/{p['hash']}/servers", headers=AUTH)
    assert (await r.json())["data"]["hash"] == s["hash"]  # one item: bare object

    await asyncio.sleep(0.06)
    r = await client.get(f"/api/v1/projects/{p['hash']}/servers/{s['hash']}", headers=AUTH)
    d = (await r.json())["data"]
    assert (d["status"], d["real_status"]) == ("active", "started")
    assert d["specifications"] == {"ram": 1073741824, "disk": 25, "vcpu": 1}
    assert d["location"]["id"] == 4 and d["location"]["name"] == "پارسیان"
    assert d["settings"]["os_image"]["name"] == "Ubuntu 22.04"
    v4 = [ip for ip in d["ips"] if ip["type"] == "ipv4"]
    v6 = [ip for ip in d["ips"] if ip["type"] == "ipv6"]
    assert len(v4) == 1 and v4[0]["ip"].startswith("2.189.") and v4[0]["is_primary"]
    assert len(v6) == 1 and v6[0]["range"].endswith("/128")
    assert re.match(r"^[0-9a-f-]{36}$", d["uuid"])

    s2 = await new_server(client, p["hash"], hostname="web-02.example")
    r = await client.get(f"/api/v1/projects/{p['hash']}/servers", headers=AUTH)
    assert [x["hash"] for x in (await r.json())["data"]] == [s["hash"], s2["hash"]]

    r = await client.delete(f"/api/v1/projects/{p['hash']}/servers/{s['hash']}", headers=AUTH)
    assert await r.json() == {"success": True}
    r = await client.get(f"/api/v1/projects/{p['hash']}/servers/{s['hash']}", headers=AUTH)
    assert r.status == 404 and "message" in await r.json()
    r = await client.get(f"/api/v1/projects/{p['hash']}", headers=AUTH)
    assert (await r.json())["data"]["servers_count"] == 1


async def test_server_plain_shapes(plain):
    p = await new_project(plain)
    s = await new_server(plain, p["hash"])
    assert s["location"]["id"] == 4 and s["specifications"]["vcpu"] == 1
    assert s["settings"]["os_image"]["name"] == "Ubuntu 22.04"
    r = await plain.get(f"/api/v1/projects/{p['hash']}/servers", headers=AUTH)
    assert isinstance((await r.json())["data"], list)


async def server_error(client, project, **body):
    r = await client.post(f"/api/v1/projects/{project}/servers", json={**SERVER_BODY, **body}, headers=AUTH)
    assert r.status == 422
    return await r.json()


async def test_server_validation(client):
    p = (await new_project(client))["hash"]
    body = await server_error(client, p, hostname="web")
    assert body["message"] == "hostname باید حداقل 6 حرف داشته باشد."
    assert body["errors"] == {"hostname": ["hostname باید حداقل 6 حرف داشته باشد."]}
    body = await server_error(client, p, hostname="bad_host!")
    assert body["errors"]["hostname"] == ["فرمت hostname معتبر نیست."]
    body = await server_error(client, p, hostname="h" * 101)
    assert body["errors"]["hostname"] == ["hostname نباید بیشتر از 100 حرف باشد."]
    body = await server_error(client, p, password="short")
    assert body["errors"] == {"password": ["password باید حداقل 8 حرف داشته باشد."]}
    body = await server_error(client, p, password=None)
    assert "password" in body["errors"]
    body = await server_error(client, p, location=99)
    assert list(body["errors"]) == ["location"]
    body = await server_error(client, p, plan=50)  # a plan of location 3, not 4
    assert list(body["errors"]) == ["plan"]
    body = await server_error(client, p, os=999)
    assert list(body["errors"]) == ["os"]
    body = await server_error(client, p, os=28)  # the hidden version
    assert list(body["errors"]) == ["os"]
    r = await client.post(f"/api/v1/projects/{p}/servers", json={}, headers=AUTH)
    body = await r.json()
    assert list(body["errors"]) == ["location", "plan", "os", "hostname", "password"]
    assert body["message"] == body["errors"]["location"][0]


async def test_server_with_ssh_keys_needs_no_password(client):
    p = (await new_project(client))["hash"]
    body = {k: v for k, v in SERVER_BODY.items() if k != "password"}
    r = await client.post(f"/api/v1/projects/{p}/servers", json={**body, "ssh_keys": [17]}, headers=AUTH)
    assert r.status == 200
    assert (await r.json())["data"]["password"]


# --------------------------------------------------------------------------- load balancers


async def test_lb_lifecycle_update_reinstall_delete(client):
    p = (await new_project(client))["hash"]
    lb = await new_lb(client, p)
    assert (lb["status"], lb["real_status"]) == ("creating", "not exist")
    assert lb["plan"] == 31 and lb["plan_name"] == "LB01" and lb["price"] == 400000
    assert lb["location"]["id"] == 3 and lb["ips"] == [] and lb["domains"] == []
    assert [t["ip"] for t in lb["targets"]] == ["8.8.8.8", "4.2.2.4"]
    assert all(HASH_RE.match(t["name"]) for t in lb["targets"])
    assert lb["services"][0] == {
        **lb["services"][0],
        "protocol": "tcp",
        "source_port": 443,
        "destination_port": 8443,
        "health_check": True,
        "proxy": False,
        "use_ssl": False,
    }

    r = await client.get(f"/api/v1/projects/{p}/load_balancers", headers=AUTH)
    assert isinstance((await r.json())["data"], list)  # documented as a list even with one item
    r = await client.get(f"/api/v1/projects/{p}", headers=AUTH)
    assert (await r.json())["data"]["loadbalancers_count"] == 1

    await asyncio.sleep(0.06)
    r = await client.get(f"/api/v1/projects/{p}/load_balancers/{lb['hash']}", headers=AUTH)
    d = (await r.json())["data"]
    assert (d["status"], d["real_status"]) == ("active", "started")
    assert any(ip["ip"].startswith("2.189.") for ip in d["ips"])

    upd = {
        "name": "lb-renamed",
        "plan": "18",
        "algorithm": "leastconn",
        "targets": [{"ip": "4.2.2.4"}, {"ip": "1.1.1.1"}],
        "services": [{"source_port": 443, "destination_port": 443, "health_check": True, "use_ssl": True, "proxy": True}],
    }
    for method in ("put", "patch"):
        r = await client.request(method, f"/api/v1/projects/{p}/load_balancers/{lb['hash']}", json=upd, headers=AUTH)
        assert r.status == 200, await r.text()
    d = (await r.json())["data"]
    assert (d["name"], d["plan"], d["plan_name"], d["algorithm"]) == ("lb-renamed", 18, "LB02", "leastconn")
    assert [t["ip"] for t in d["targets"]] == ["4.2.2.4", "1.1.1.1"]
    kept = next(t for t in lb["targets"] if t["ip"] == "4.2.2.4")
    assert d["targets"][0]["name"] == kept["name"]
    assert d["services"][0]["use_ssl"] is True and d["services"][0]["proxy"] is True

    r = await client.post(f"/api/v1/projects/{p}/load_balancers/{lb['hash']}/reinstall", headers=AUTH)
    d = (await r.json())["data"]
    assert d["status"] != "active" or d["real_status"] != "started"
    await asyncio.sleep(0.06)
    r = await client.get(f"/api/v1/projects/{p}/load_balancers/{lb['hash']}", headers=AUTH)
    d = (await r.json())["data"]
    assert (d["status"], d["real_status"]) == ("active", "started")

    r = await client.delete(f"/api/v1/projects/{p}/load_balancers/{lb['hash']}", headers=AUTH)
    assert await r.json() == {"success": True}
    r = await client.get(f"/api/v1/projects/{p}/load_balancers/{lb['hash']}", headers=AUTH)
    assert r.status == 404


async def test_lb_validation(client):
    p = (await new_project(client))["hash"]
    url = f"/api/v1/projects/{p}/load_balancers"

    async def err(**body):
        r = await client.post(url, json={**LB_BODY, **body}, headers=AUTH)
        assert r.status == 422
        return await r.json()

    body = await err(services=[{"source_port": 443, "destination_port": 70000, "health_check": True, "proxy": False}])
    assert body["errors"] == {"services.0.destination_port": ["services.0.destination_port باید بین 0 و 65535 باشد."]}
    body = await err(targets=[{"ip": f"10.0.0.{i}"} for i in range(26)])
    assert body["errors"] == {"targets": ["targets نباید بیشتر از 25 آیتم داشته باشد."]}
    body = await err(services=[{"source_port": i, "destination_port": i, "health_check": False, "proxy": False} for i in range(6)])
    assert list(body["errors"]) == ["services"]
    body = await err(plan=31)  # must be a string
    assert list(body["errors"]) == ["plan"]
    body = await err(plan="99")
    assert list(body["errors"]) == ["plan"]
    body = await err(algorithm="random")
    assert list(body["errors"]) == ["algorithm"]
    body = await err(name="lb")
    assert body["errors"]["name"] == ["name باید حداقل 6 حرف داشته باشد."]
    body = await err(name="bad name!")
    assert body["errors"]["name"] == ["فرمت name معتبر نیست."]
    body = await err(services=[{"source_port": 1, "destination_port": 1, "proxy": False}])
    assert list(body["errors"]) == ["services.0.health_check"]
    body = await err(targets=[{}])
    assert list(body["errors"]) == ["targets.0.ip"]
    # A bigger plan allows more targets.
    r = await client.post(url, json={**LB_BODY, "plan": "18", "targets": [{"ip": f"10.0.0.{i}"} for i in range(26)]}, headers=AUTH)
    assert r.status == 200

    lb = await new_lb(client, p)
    upd_url = f"{url}/{lb['hash']}"
    upd = {"name": "n" * 51, "plan": "31", "algorithm": "roundrobin"}
    r = await client.put(upd_url, json=upd, headers=AUTH)
    body = await r.json()
    assert r.status == 422
    assert body["errors"] == {"name": ["name نباید بیشتر از 50 حرف باشد."]}
    r = await client.put(upd_url, json={**upd, "name": "n" * 50}, headers=AUTH)
    assert r.status == 200
    r = await client.put(
        upd_url,
        json={**upd, "name": "lb-main", "services": [{"source_port": 1, "destination_port": 1, "health_check": True, "proxy": True}]},
        headers=AUTH,
    )
    assert r.status == 422 and list((await r.json())["errors"]) == ["services.0.use_ssl"]


async def test_lb_reports_and_target_control(client):
    p = (await new_project(client))["hash"]
    lb = await new_lb(client, p)
    await client.post("/_sandbox/settle")
    url = f"/api/v1/projects/{p}/load_balancers/{lb['hash']}/reports"
    r = await client.get(url, headers=AUTH)
    rep = await r.json()
    assert list(rep) == ["bk_web_443"]  # only the health-checked service
    names = {t["ip"]: t["name"] for t in lb["targets"]}
    assert rep["bk_web_443"] == [
        {"svname": names["8.8.8.8"], "status": "UP", "mode": "tcp", "server": "8.8.8.8", "port": "8443"},
        {"svname": names["4.2.2.4"], "status": "UP", "mode": "tcp", "server": "4.2.2.4", "port": "8443"},
    ]

    r = await client.post(f"/_sandbox/load_balancers/{lb['hash']}/targets/status", json={"ip": "4.2.2.4", "status": "DOWN"})
    assert r.status == 200
    r = await client.get(url, headers=AUTH)
    assert [e["status"] for e in (await r.json())["bk_web_443"]] == ["UP", "DOWN"]
    await client.post(f"/_sandbox/load_balancers/{lb['hash']}/targets/status", json={"ip": "4.2.2.4", "status": "UP"})
    r = await client.get(url, headers=AUTH)
    assert [e["status"] for e in (await r.json())["bk_web_443"]] == ["UP", "UP"]

    r = await client.post(f"/_sandbox/load_balancers/{lb['hash']}/targets/status", json={"ip": "9.9.9.9", "status": "DOWN"})
    assert r.status == 404
    r = await client.post("/_sandbox/load_balancers/nope/targets/status", json={"ip": "8.8.8.8", "status": "DOWN"})
    assert r.status == 404


# --------------------------------------------------------------------------- switches


async def test_fail_next_and_throttle_next(client):
    await client.post("/_sandbox/config", json={"fail_next": 2, "throttle_next": 1, "retry_after": 7})
    r = await client.get("/api/user", headers=AUTH)
    assert r.status == 429
    assert r.headers["Retry-After"] == "7"
    assert await r.json() == {"message": "Too Many Attempts."}
    for _ in range(2):
        r = await client.get("/api/user", headers=AUTH)
        assert r.status == 500 and await r.json() == {"message": "Server Error"}
    r = await client.get("/api/user", headers=AUTH)
    assert r.status == 200
    # Control routes are not affected by the switches.
    state_of(client).config.fail_next = 1
    r = await client.get("/_sandbox/state")
    assert r.status == 200
    assert state_of(client).config.fail_next == 1


async def test_error_rate(make_client):
    c = await make_client(error_rate=1.0)
    r = await c.get("/api/user", headers=AUTH)
    assert r.status == 500
    await c.post("/_sandbox/config", json={"error_rate": 0})
    r = await c.get("/api/user", headers=AUTH)
    assert r.status == 200


async def test_latency_by_token_delays_one_user(make_client):
    c = await make_client(
        tokens={"slow": {"id": 1, "name": "S", "email": "s@x"}, "fast": {"id": 2, "name": "F", "email": "f@x"}},
        latency_by_token={"slow": 0.3},
    )

    async def timed(token):
        t0 = time.monotonic()
        r = await c.get("/api/user", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200
        return time.monotonic() - t0

    slow, fast = await asyncio.gather(timed("slow"), timed("fast"))
    assert slow >= 0.3
    assert fast < 0.2


async def test_config_validation(client):
    r = await client.post("/_sandbox/config", json={"nope": 1})
    assert r.status == 400
    r = await client.post("/_sandbox/config", json={"error_rate": 2})
    assert r.status == 400
    r = await client.post("/_sandbox/config", json={"latency": 0.01, "transition_delay": 1})
    assert r.status == 200
    cfg = state_of(client).config
    assert cfg.latency == 0.01 and cfg.transition_delay == 1.0


# --------------------------------------------------------------------------- control API and log


async def test_tokens_reset_settle_and_forced_status(make_client):
    c = await make_client(transition_delay=60)
    r = await c.post("/_sandbox/tokens", json={"token": "new-tok", "user": {"id": 9, "name": "Nine", "email": "9@x"}})
    assert r.status == 200
    r = await c.get("/api/user", headers={"Authorization": "Bearer new-tok"})
    assert (await r.json())["data"]["id"] == 9

    p = (await new_project(c))["hash"]
    s = await new_server(c, p)
    r = await c.post("/_sandbox/settle")
    assert (await r.json())["settled"] == 1
    r = await c.get(f"/api/v1/projects/{p}/servers/{s['hash']}", headers=AUTH)
    assert (await r.json())["data"]["status"] == "active"

    r = await c.post(f"/_sandbox/servers/{s['hash']}/status", json={"status": "suspended", "real_status": "stopped"})
    assert r.status == 200
    r = await c.get(f"/api/v1/projects/{p}/servers/{s['hash']}", headers=AUTH)
    d = (await r.json())["data"]
    assert (d["status"], d["real_status"]) == ("suspended", "stopped")
    r = await c.post("/_sandbox/servers/nope/status", json={"status": "x"})
    assert r.status == 404

    r = await c.get("/_sandbox/state")
    dump = await r.json()
    assert dump["users"]["1"]["projects"][0]["servers"][0]["status"] == "suspended"
    assert "demo-token" not in json.dumps(dump)

    r = await c.post("/_sandbox/reset")
    assert r.status == 200
    st = state_of(c)
    assert st.users == {} and st.request_log == []
    r = await c.get("/api/user", headers={"Authorization": "Bearer new-tok"})
    assert r.status == 401  # tokens back to the initial ones


async def test_request_log(client):
    await new_project(client)
    await client.get("/api/v1/projects", headers=AUTH)
    await client.get("/api/user")
    log = state_of(client).request_log
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/api/v1/projects", 201),
        ("GET", "/api/v1/projects", 200),
        ("GET", "/api/user", 401),
    ]
    assert log[0]["user_id"] == 1 and log[2]["user_id"] is None
    assert all(TOKEN not in json.dumps(e) for e in log)
    assert len(state_of(client).requests("POST", "/projects")) == 1


async def test_request_log_keeps_each_sent_body_with_passwords_redacted(client):
    project = await new_project(client)
    server = await new_server(client, project["hash"], password="Sup3r-Secret!")
    await client.get("/api/v1/projects", headers=AUTH)
    await client.post("/api/v1/projects", data="not json", headers=AUTH)
    await client.delete(f"/api/v1/projects/{project['hash']}/servers/{server['hash']}", headers=AUTH)
    await client.post("/api/v1/projects", json={"name": "x", "nested": [{"password": "p4ss"}]})  # 401: logged too
    log = state_of(client).request_log
    assert log[0]["body"] == {"name": "web-shop"}
    assert log[1]["body"] == {**SERVER_BODY, "password": "***"}
    assert "body" not in log[2]  # a GET has none
    assert log[3]["body"] is None and log[4]["body"] is None  # not JSON; no body at all
    assert log[5]["body"] == {"name": "x", "nested": [{"password": "***"}]} and log[5]["status"] == 401
    assert "Sup3r-Secret!" not in json.dumps(log) and "p4ss" not in json.dumps(log)
    assert state_of(client).requests("POST", "/servers")[0]["body"]["hostname"] == SERVER_BODY["hostname"]
    r = await client.get("/_sandbox/state")  # the control API's copy is redacted as well
    assert "Sup3r-Secret!" not in await r.text()


async def test_unknown_route_is_json_404(client):
    r = await client.get("/api/v1/nothing-here", headers=AUTH)
    assert r.status == 404 and "message" in await r.json()
    r = await client.post("/api/v1/servers/locations", headers=AUTH)
    assert r.status == 405 and "message" in await r.json()


async def test_created_at_is_humanised(client):
    st = state_of(client)
    p = (await new_project(client))["hash"]
    s = await new_server(client, p)
    base = st.clock()
    st.clock = lambda: base + 600
    r = await client.get(f"/api/v1/projects/{p}/servers/{s['hash']}", headers=AUTH)
    assert (await r.json())["data"]["created_at"] == "10 دقیقه پیش"
    st.clock = lambda: base + 3 * 3600 + 5
    r = await client.get(f"/api/v1/projects/{p}/servers/{s['hash']}", headers=AUTH)
    assert (await r.json())["data"]["created_at"] == "3 ساعت پیش"
