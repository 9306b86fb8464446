"""Load balancers without Telegram: input rules, screens, the change summary, the
actions' request bodies and the notifier's load balancer watching (against the sandbox)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestServer

from bot.actions import load_balancers as lb_actions
from bot.actions.base import Account, Actor
from bot.config import Settings
from bot.handlers.load_balancers import change_kinds, validate_name, validate_port, validate_target
from bot.i18n import strip_tags, translator
from bot.manageit.client import ManageITAPI
from bot.manageit.models import BackendServer, LBPlan, LoadBalancer
from bot.notifier import Change, Notifier, _grouped, backend_key
from bot.sandbox.manageit import SANDBOX_STATE, SandboxConfig, create_sandbox_app
from bot.services import Services
from bot.storage.migrate import upgrade
from bot.storage.vault import TokenVault
from bot.ui import render_lb
from bot.ui.keyboards import markup

TOKEN = "unit-lb-token-1234567890"


# -- input rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed,updating,name,error",
    [
        ("edge-lb-01", False, "edge-lb-01", None),
        ("  edge.lb.۰۱ ", False, "edge.lb.01", None),
        ("edge lb 01", False, "edge lb 01", "lb.name_chars"),
        ("لود-بالانسر", False, "لود-بالانسر", "lb.name_chars"),
        ("edge", False, "edge", "lb.name_short"),
        ("x" * 100, False, "x" * 100, None),
        ("x" * 101, False, "x" * 101, "lb.name_long"),
        ("x" * 50, True, "x" * 50, None),
        ("x" * 51, True, "x" * 51, "lb.name_long"),
    ],
)
def test_name_rules_match_the_api(typed, updating, name, error):
    assert validate_name(typed, updating=updating) == (name, error)


@pytest.mark.parametrize(
    "typed,port,error",
    [("80", 80, None), ("۸۰", 80, None), ("٨٠٨٠", 8080, None), (" 0 ", 0, None), ("65535", 65535, None),
     ("70000", None, "lb.port_invalid"), ("65536", None, "lb.port_invalid"), ("-1", None, "lb.port_invalid"),
     ("80a", None, "lb.port_invalid"), ("", None, "lb.port_invalid"), ("８０", None, "lb.port_invalid"),
     ("000080", None, "lb.port_invalid")],
)
def test_ports(typed, port, error):
    assert validate_port(typed) == (port, error)


@pytest.mark.parametrize(
    "typed,value,error",
    [("10.0.0.5", "10.0.0.5", None), ("۱۰.۰.۰.۵", "10.0.0.5", None), ("2a07:4282::16B", "2a07:4282::16b", None),
     ("App.Example.com", "app.example.com", None), ("backend", "backend", None),
     ("1.2.3.999", "1.2.3.999", "lb.target_invalid"), ("not a host", "not a host", "lb.target_invalid"),
     ("-bad.example", "-bad.example", "lb.target_invalid"), ("", "", "lb.target_invalid"),
     ("a" * 64 + ".com", "a" * 64 + ".com", "lb.target_invalid")],
)
def test_targets(typed, value, error):
    assert validate_target(typed) == (value, error)


# -- flow data and screens -----------------------------------------------------------------
def create_flow(**over) -> dict:
    flow = {
        "name": "lb_create", "step": "summary", "project": "P1", "project_name": "Production", "lb_name": "edge-lb-01",
        "location": 4, "location_name": "پارسیان", "plan": 31, "plan_name": "LB01", "plan_performance": 1,
        "plan_services": 5, "plan_targets": 2, "plan_price": 400000, "algorithm": "leastconn",
        "targets": [{"i": 0, "ip": "2.189.1.140", "server": "web-01"}, {"i": 1, "ip": "backend.example.com", "server": ""}],
        "services": [{"i": 2, "src": 80, "dst": 8080, "hc": True, "px": True, "ssl": False}],
        "seq": 3, "draft": {"src": 443, "dst": 443, "hc": True, "px": False},
    }
    flow.update(over)
    return flow


def edit_flow(**over) -> dict:
    flow = create_flow(name="lb_edit", step="edit", lb="ze5k1MQ2uHz9JMQf")
    flow["orig"] = {"lb_name": "edge-lb-01", "plan": 31, "plan_name": "LB01", "algorithm": "leastconn",
                    "targets": ["2.189.1.140", "backend.example.com"],
                    "services": [{"src": 80, "dst": 8080, "hc": True, "px": True, "ssl": False}]}
    flow.update(over)
    return flow


def test_limits():
    flow = create_flow()
    assert not render_lb.has_room(flow, "targets") and render_lb.has_room(flow, "services")
    assert render_lb.over_limit(flow) == []
    flow["plan_targets"] = 1
    assert render_lb.over_limit(flow) == ["targets"]
    flow["plan_targets"] = None  # a plan the API no longer lists: no limit is made up
    assert render_lb.has_room(flow, "targets")


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_every_screen_has_encodable_buttons(lang):
    tr = translator(lang)
    lb = LoadBalancer.from_api({
        "hash": "ze5k1MQ2uHz9JMQf", "name": "edge-lb-01", "algorithm": "roundrobin", "plan": 31, "plan_name": "LB01",
        "price": 400000, "status": "active", "real_status": "started",
        "services": [{"source_port": 443, "destination_port": 443, "health_check": True, "use_ssl": True}],
        "targets": [{"name": "x", "ip": "manageit.ir"}],
        "ips": [{"ip": "2.189.255.210", "type": "ipv4", "is_primary": True}],
    })
    plan = LBPlan(31, "LB01", 1, 5, 25, 400000)
    flow, edit = create_flow(), edit_flow()
    screens = [
        render_lb.lb_list(tr, "P1", "Production", [lb] * 12, 1),
        render_lb.lb_detail(tr, lb, plan),
        render_lb.lb_health(tr, lb, {"bk_web_443": [BackendServer("x", "DOWN", "tcp", "manageit.ir", "443")]}),
        render_lb.reinstall_confirm(tr, lb), render_lb.delete_confirm(tr, lb), render_lb.deleted(tr, "x"),
        render_lb.ask_name(tr, flow, error="e", typed="t"), render_lb.pick_algorithm(tr, flow),
        render_lb.pick_plan(tr, flow, [plan]), render_lb.targets_screen(tr, flow), render_lb.services_screen(tr, flow),
        render_lb.ask_target(tr, flow), render_lb.ask_port(tr, flow, "dst"), render_lb.service_options(tr, flow),
        render_lb.summary(tr, flow), render_lb.edit_menu(tr, edit), render_lb.services_screen(tr, edit),
        render_lb.edit_summary(tr, edit), render_lb.created(tr, lb), render_lb.cancelled(tr),
    ]
    for screen in screens:
        markup("abcdef", screen.rows)  # raises if an action or an argument cannot be encoded
        assert "{" not in strip_tags(screen.text), screen.text  # every placeholder filled
    detail = strip_tags(screens[1].text)
    assert tr.price(400000) in detail and "2.189.255.210" in detail and "manageit.ir" in detail


def test_ssl_is_offered_only_when_changing():
    tr = translator("en")
    actions = lambda screen: {b.action for row in screen.rows for b in row}  # noqa: E731
    assert "lbf.ssl" not in actions(render_lb.services_screen(tr, create_flow(step="services")))
    assert "lbf.ssl" in actions(render_lb.services_screen(tr, edit_flow(step="services")))


def test_the_full_targets_step_offers_no_more_targets():
    tr = translator("en")
    screen = render_lb.targets_screen(tr, create_flow(step="targets"))
    assert "lbf.tadd" not in {b.action for row in screen.rows for b in row}
    assert "LB01 allows 2 targets" in strip_tags(screen.text)
    over = render_lb.targets_screen(tr, create_flow(step="targets", plan_targets=1))
    assert "lbf.next" not in {b.action for row in over.rows for b in row}
    summary = render_lb.summary(tr, create_flow(plan_targets=1))
    assert "lbf.confirm" not in {b.action for row in summary.rows for b in row}


def test_the_change_summary_lists_each_change():
    tr = translator("en")
    flow = edit_flow()
    assert render_lb.changes(tr, flow) == [] and change_kinds(flow) == []
    flow["lb_name"] = "edge-lb-02"
    flow["services"][0]["ssl"] = True
    flow["targets"] = flow["targets"][:1] + [{"i": 9, "ip": "10.0.0.9", "server": ""}]
    lines = [strip_tags(x) for x in render_lb.changes(tr, flow)]
    assert lines == ["• Name: edge-lb-01 → edge-lb-02", "• Target removed: backend.example.com",
                     "• Target added: 10.0.0.9", "• SSL on 80 → 8080: off → on"]
    assert change_kinds(flow) == ["name", "targets", "ssl"]
    flow["targets"].append({"i": 10, "ip": "10.0.0.10", "server": "web-<2>"})
    added = render_lb.changes(tr, flow)[3]
    assert "web-&lt;2&gt;" in added and strip_tags(added) == "• Target added: 10.0.0.10 (web-<2>)"


def test_api_field_errors_go_to_their_step():
    grouped = render_lb.group_errors({"name": ["a"], "targets": ["b"], "targets.1.ip": ["c"],
                                      "services.0.destination_port": ["d"], "foo": ["e"]})
    assert grouped == {"name": ["a"], "targets": ["b", "c"], "services": ["d"], "": ["e"]}


def test_persian_ports_have_no_separators():
    assert render_lb.port(translator("fa"), 8080) == "۸۰۸۰"
    assert render_lb.port(translator("en"), 65535) == "65535"


# -- notifier helpers ----------------------------------------------------------------------------
def test_backend_keys_fit_the_column():
    assert backend_key("bk_web_443", "8.8.8.8") == "bk_web_443|8.8.8.8"
    long = backend_key("bk_web_443", "a" * 250 + ".example.com")
    assert len(long) == 128 and long != backend_key("bk_web_443", "b" * 250 + ".example.com")


def test_backend_changes_of_one_load_balancer_share_a_message():
    def change(kind, res, sub=""):
        return Change(kind, "P", res, "n", None, None, "DOWN", None, None, sub_key=sub)

    changes = [change("lb_backend", "A", "1"), change("server", "S"), change("lb_backend", "A", "2"),
               change("lb_backend", "B", "1"), change("load_balancer", "A")]
    assert [[c.resource_hash + c.sub_key for c in g] for g in _grouped(changes)] == [["A1", "A2"], ["S"], ["B1"], ["A"]]


# -- against the sandbox: the actions' bodies and the notifier ---------------------------------
@dataclass
class FakeBot:
    sent: list = field(default_factory=list)

    async def send_message(self, chat_id, text, **kw):
        self.sent.append((chat_id, text))


@pytest.fixture
async def world(tmp_path):
    app = create_sandbox_app(SandboxConfig(tokens={TOKEN: {"id": 7, "name": "U", "email": "u@example.com"}},
                                           transition_delay=0.0))
    server = TestServer(app)
    await server.start_server()
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    settings = Settings(telegram_bot_token="1:x", manageit_api_url=str(server.make_url("")).rstrip("/"),
                        data_dir=tmp_path, database_url=url, encryption_keys=(TokenVault.generate_key(),),
                        default_language="en")
    services = Services.build(settings)
    async with services.db.session() as session:
        cred = await services.credentials.save(session, owner_chat_id=555, owner_kind="user", added_by_user_id=555,
                                               token=TOKEN, account_id=7, account_name="U", account_email=None)
    account = Account(cred.id, 555, "U", services.api.client(TOKEN))
    yield services, account, app[SANDBOX_STATE]
    await services.close()
    await server.close()


async def test_create_sends_the_documented_body(world, monkeypatch):
    services, account, state = world
    project = await account.client.projects.create("Production")
    bodies = []
    original = ManageITAPI._request

    async def recording(self, token, method, path, **kw):
        if method != "GET":
            bodies.append((method, path, kw.get("body")))
        return await original(self, token, method, path, **kw)

    monkeypatch.setattr(ManageITAPI, "_request", recording)
    spec = lb_actions.LBSpec(project.hash, "edge-lb-01", 4, 31, "leastconn", ("2.189.1.140", "backend.example.com"),
                             (lb_actions.ServiceSpec(80, 8080, True, True), lb_actions.ServiceSpec(443, 443, True)))
    lb = await lb_actions.create_load_balancer(services, Actor(555, 555), account, spec)
    assert bodies == [("POST", f"api/v1/projects/{project.hash}/load_balancers", {
        "name": "edge-lb-01", "plan": "31", "algorithm": "leastconn", "location": 4,
        "targets": [{"ip": "2.189.1.140"}, {"ip": "backend.example.com"}],
        "services": [{"source_port": 80, "destination_port": 8080, "health_check": True, "proxy": True},
                     {"source_port": 443, "destination_port": 443, "health_check": True, "proxy": False}],
    })]
    async with services.db.session() as session:
        watched = await services.watches.get_all(session, account.credential_id)
        (entry,) = await services.audit.recent(session, credential_id=account.credential_id)
    assert watched[("load_balancer", lb.hash, "")].status == "creating"  # so "now active" is told
    assert (entry.action, entry.result, entry.target) == ("load_balancer.create", "ok", "edge-lb-01")
    assert entry.details["targets"] == ["2.189.1.140", "backend.example.com"]

    update = lb_actions.LBUpdate(project.hash, lb.hash, "edge-lb-02", 31, "leastconn", spec.targets,
                                 (lb_actions.ServiceSpec(80, 8080, True, True, use_ssl=True),))
    await lb_actions.update_load_balancer(services, Actor(555, 555), account, update)
    method, path, body = bodies[-1]
    assert method == "PUT" and body["services"] == [
        {"source_port": 80, "destination_port": 8080, "health_check": True, "proxy": True, "use_ssl": True}]
    assert body["plan"] == "31" and "location" not in body


async def test_notifier_watches_load_balancers_and_their_backends(world):
    services, account, state = world
    notifier, bot = Notifier(services), FakeBot()
    empty = await account.client.projects.create("Empty")
    project = await account.client.projects.create("Production")
    lb = await account.client.load_balancers.create(
        project.hash, name="edge-lb-01", plan="31", location=4, algorithm="roundrobin",
        targets=["10.0.0.1", "10.0.0.2"],
        services=[{"source_port": 80, "destination_port": 80, "health_check": True, "proxy": False},
                  {"source_port": 443, "destination_port": 443, "health_check": True, "proxy": False}])
    # First sight (it is already running: the sandbox has no delay here) is silent.
    assert await notifier.run_cycle(bot) == 0
    lists = lambda: [r["path"] for r in state.requests("GET") if r["path"].endswith("/load_balancers")]  # noqa: E731
    assert lists() == [f"/api/v1/projects/{project.hash}/load_balancers"], "no list call for a project without any"
    assert len(state.requests("GET", "/reports")) == 1
    assert empty.hash

    sandbox_lb = state.find_load_balancer(lb.hash)
    sandbox_lb.target_status["10.0.0.2"] = "DOWN"
    assert await notifier.run_cycle(bot) == 1  # one message for both backends
    text = bot.sent[-1][1]
    assert "edge-lb-01" in text and "bk_web_80" in text and "bk_web_443" in text and "10.0.0.2" in text
    assert text.count("DOWN") == 2 and "10.0.0.1" not in text
    assert await notifier.run_cycle(bot) == 0  # told once

    # While it is reinstalled every backend reads DOWN: that is not news, its status is.
    state.force_status(sandbox_lb, "reinstalling", "not exist")
    reports = len(state.requests("GET", "/reports"))
    assert await notifier.run_cycle(bot) == 1
    assert "reinstalling" in bot.sent[-1][1] and len(state.requests("GET", "/reports")) == reports
    state.force_status(sandbox_lb, "active", "started")
    sandbox_lb.target_status["10.0.0.2"] = "UP"
    assert await notifier.run_cycle(bot) == 2  # active again, and the target UP again
    assert "active" in bot.sent[-2][1] and "UP again" in bot.sent[-1][1]

    # Health checks off: no report call; deleted: its watch rows go.
    await account.client.load_balancers.update(
        project.hash, lb.hash, name="edge-lb-01", plan="31", algorithm="roundrobin",
        services=[{"source_port": 80, "destination_port": 80, "health_check": False, "proxy": False, "use_ssl": False}])
    reports = len(state.requests("GET", "/reports"))
    assert await notifier.run_cycle(bot) == 0
    assert len(state.requests("GET", "/reports")) == reports
    await account.client.load_balancers.delete(project.hash, lb.hash)
    await notifier.run_cycle(bot)
    async with services.db.session() as session:
        left = await services.watches.get_all(session, account.credential_id)
    assert not [k for k in left if k[0] in ("load_balancer", "lb_backend")]
