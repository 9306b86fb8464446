"""Load balancers without Telegram: input rules, screens, the change summary, the
actions' request bodies and the notifier's load balancer watching (against the sandbox)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot

from bot.actions import load_balancers as lb_actions
from bot.actions.base import Account, Actor
from bot.config import Settings
from bot.handlers.load_balancers import change_kinds, validate_name, validate_port, validate_target
from bot.i18n import strip_tags, translator
from bot.manageit.models import BackendServer, LBPlan, LoadBalancer
from bot.notifier import Change, Notifier, _grouped, backend_key
from bot.sandbox.manageit import SANDBOX_STATE, SandboxConfig, create_sandbox_app
from bot.sandbox.telegram import EmulatorConfig, start_emulator
from bot.sandbox.telegram_client import EmulatorControl
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
@pytest.fixture
async def telegram():
    """A real Bot (an ExtBot with the application's defaults: HTML, no link previews)
    talking to the Telegram emulator, which checks every message as Telegram would; and the
    emulator's control API to read what arrived. User 555 (the token's owner) has a chat."""
    emu = await start_emulator(config=EmulatorConfig())
    bot = ExtBot(emu.config.bot_token, base_url=f"{emu.url}/bot",
                 defaults=Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
    control = EmulatorControl(emu.url)
    await control.create_user(555, first_name="U", language_code="en")
    await bot.initialize()
    try:
        yield bot, control
    finally:
        await bot.shutdown()
        await control.close()
        await emu.close()


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


async def test_create_sends_the_documented_body(world):
    services, account, state = world
    project = await account.client.projects.create("Production")

    def sent():  # what reached the sandbox, as it arrived
        return [(e["method"], e["path"], e["body"]) for e in state.request_log if e["method"] != "GET"]

    assert sent() == [("POST", "/api/v1/projects", {"name": "Production"})]
    spec = lb_actions.LBSpec(project.hash, "edge-lb-01", 4, 31, "leastconn", ("2.189.1.140", "backend.example.com"),
                             (lb_actions.ServiceSpec(80, 8080, True, True), lb_actions.ServiceSpec(443, 443, True)))
    lb = await lb_actions.create_load_balancer(services, Actor(555, 555), account, spec)
    assert sent()[1:] == [("POST", f"/api/v1/projects/{project.hash}/load_balancers", {
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
    assert len(sent()) == 3
    method, path, body = sent()[-1]
    assert method == "PUT" and path == f"/api/v1/projects/{project.hash}/load_balancers/{lb.hash}"
    assert body["services"] == [
        {"source_port": 80, "destination_port": 8080, "health_check": True, "proxy": True, "use_ssl": True}]
    assert body["plan"] == "31" and body["name"] == "edge-lb-02" and "location" not in body


async def test_notifier_watches_load_balancers_and_their_backends(world, telegram):
    services, account, state = world
    bot, control = telegram
    notifier = Notifier(services)

    async def told() -> list[dict]:
        """The notices that reached the owner's chat, as Telegram shows them."""
        return await control.bot_messages(555)

    empty = await account.client.projects.create("Empty")
    project = await account.client.projects.create("Production")
    lb = await account.client.load_balancers.create(
        project.hash, name="edge-lb-01", plan="31", location=4, algorithm="roundrobin",
        targets=["10.0.0.1", "10.0.0.2"],
        services=[{"source_port": 80, "destination_port": 80, "health_check": True, "proxy": False},
                  {"source_port": 443, "destination_port": 443, "health_check": True, "proxy": False}])
    # First sight (it is already running: the sandbox has no delay here) is silent.
    assert await notifier.run_cycle(bot) == 0
    assert await told() == []
    lists = lambda: [r["path"] for r in state.requests("GET") if r["path"].endswith("/load_balancers")]  # noqa: E731
    assert lists() == [f"/api/v1/projects/{project.hash}/load_balancers"], "no list call for a project without any"
    assert len(state.requests("GET", "/reports")) == 1
    assert empty.hash

    sandbox_lb = state.find_load_balancer(lb.hash)
    sandbox_lb.target_status["10.0.0.2"] = "DOWN"
    assert await notifier.run_cycle(bot) == 1  # one message for both backends
    (notice,) = await told()
    text = notice["text"]
    assert "edge-lb-01" in text and "bk_web_80" in text and "bk_web_443" in text and "10.0.0.2" in text
    assert text.count("DOWN") == 2 and "10.0.0.1" not in text
    # Sent as HTML and parsed by Telegram: the name bold, the target as code, no tags left.
    assert "<" not in text and {"bold", "code"} <= {e["type"] for e in notice["entities"]}
    units = text.encode("utf-16-le")  # entity offsets count UTF-16 units
    code = [units[2 * e["offset"]:2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in notice["entities"] if e["type"] == "code"]
    assert "10.0.0.2" in code, code
    assert await notifier.run_cycle(bot) == 0  # told once
    assert len(await told()) == 1

    # While it is reinstalled every backend reads DOWN: that is not news, its status is.
    state.force_status(sandbox_lb, "reinstalling", "not exist")
    reports = len(state.requests("GET", "/reports"))
    assert await notifier.run_cycle(bot) == 1
    assert "reinstalling" in (await told())[-1]["text"] and len(state.requests("GET", "/reports")) == reports
    state.force_status(sandbox_lb, "active", "started")
    sandbox_lb.target_status["10.0.0.2"] = "UP"
    assert await notifier.run_cycle(bot) == 2  # active again, and the target UP again
    messages = await told()
    assert len(messages) == 4
    assert "active" in messages[-2]["text"] and "UP again" in messages[-1]["text"]
    assert await control.errors() == []  # Telegram took every notice: valid HTML, within its limits

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


# -- the biggest plan: every screen fits in one Telegram message -------------------------------
from bot.manageit.models import Server  # noqa: E402
from bot.sandbox.manageit_seed import LB_PLANS  # noqa: E402
from bot.sandbox.telegram_html import parse_html, trim_text, utf16_len  # noqa: E402
from bot.ui.render import ECHO_MAX  # noqa: E402

BIGGEST = max(LB_PLANS, key=lambda p: p["targets"])  # LB03: 30 services, 150 targets
TELEGRAM_MAX = 4096


def fits(screen) -> None:
    """As Telegram counts it: the text after entity parsing, in UTF-16 units; ≤ 100 buttons."""
    text, entities = trim_text(*parse_html(screen.text))
    assert 0 < utf16_len(text) <= TELEGRAM_MAX, utf16_len(text)
    buttons = [b for row in screen.rows for b in row]
    assert len(buttons) <= 100 and all(len(row) <= 8 for row in screen.rows)
    markup("abcdef", screen.rows)


def long_host(n: int) -> str:
    """A 253-character host name (the longest a target can be)."""
    return ".".join(["a" * 63, "b" * 63, "c" * 63, f"{n:03d}" + "d" * 57])


def biggest_lb(real_status: str = "started") -> LoadBalancer:
    return LoadBalancer.from_api({
        "hash": "ze5k1MQ2uHz9JMQf", "name": "n" * 100, "algorithm": "roundrobin", "plan": BIGGEST["id"],
        "plan_name": BIGGEST["name"], "price": BIGGEST["price"], "status": "active", "real_status": real_status,
        "services": [{"source_port": 60000 + n, "destination_port": 60000 + n, "health_check": True, "proxy": True,
                      "use_ssl": True} for n in range(BIGGEST["services"])],
        "targets": [{"name": f"t{n}", "ip": long_host(n)} for n in range(BIGGEST["targets"])],
        "ips": [{"ip": "2.189.255.210", "type": "ipv4", "is_primary": True},
                {"ip": "2a07:4282:0:0:0:0:0:16b", "type": "ipv6", "is_primary": True}],
    })


def biggest_reports(lb: LoadBalancer, down=lambda n: True) -> dict:
    return {f"bk_web_{s.source_port}" + "_x" * 40: [
        BackendServer(t.name, "DOWN" if down(n) else "UP", "tcp", t.ip, str(s.destination_port))
        for n, t in enumerate(lb.targets)] for s in lb.services}


def biggest_flow(name: str) -> dict:
    n_targets, n_services = BIGGEST["targets"], BIGGEST["services"]
    flow = create_flow(
        name=name, lb_name="n" * 100, plan=BIGGEST["id"], plan_name=BIGGEST["name"], plan_services=n_services,
        plan_targets=n_targets, plan_performance=BIGGEST["performance"], plan_price=BIGGEST["price"],
        targets=[{"i": n, "ip": long_host(n), "server": "s" * 100} for n in range(n_targets)],
        services=[{"i": n_targets + n, "src": 60000 + n, "dst": 60000 + n, "hc": True, "px": True, "ssl": True}
                  for n in range(n_services)],
        seq=n_targets + n_services,
        field_errors={"targets": [f"targets.{n}.ip نباید بیشتر از 255 حرف باشد." for n in range(n_targets)],
                      "name": ["x" * 4000]},
    )
    return flow


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_every_screen_of_the_biggest_plan_fits_in_a_message(lang):
    tr = translator(lang)
    for real_status, down in (("started", lambda n: n % 2), ("stopped", lambda n: True)):
        lb = biggest_lb(real_status)
        reports = biggest_reports(lb, down)
        first = render_lb.lb_health(tr, lb, reports, 0)
        pages = int(next(b.label for row in first.rows for b in row if b.action == "noop").split("/")[-1])
        assert pages == 4  # 30 backends, 8 a page
        seen = []
        for page in range(pages):
            screen = render_lb.lb_health(tr, lb, reports, page)
            fits(screen)
            seen += [b for b in reports if strip_tags(tr.t("lb.health.backend", backend=render_lb.clip(b, 48), up=0,
                                                             total=0)).split(" · ")[0] in strip_tags(screen.text)]
        assert len(set(seen)) == len(reports)  # every backend is on a page
    fits(render_lb.lb_detail(tr, biggest_lb(), LBPlan(**{k: BIGGEST[k] for k in
                                                           ("id", "name", "performance", "services", "targets",
                                                            "price")})))

    flow = biggest_flow("lb_create")
    fits(render_lb.summary(tr, flow, flow["field_errors"], ("x" * 300,)))
    for page in range(0, 20):  # past the last page: the last page
        fits(render_lb.targets_screen(tr, {**flow, "step": "targets", "tpage": page}, error="e" * 200))
    fits(render_lb.services_screen(tr, {**flow, "step": "services"}))
    servers = [Server(hash=f"h{n}", name="s" * 100, ips=()) for n in range(200)]
    for page in range(0, 30):
        fits(render_lb.pick_server(tr, {**flow, "step": "target_pick", "spage": page}, servers))
    fits(render_lb.ask_name(tr, {**flow, "step": "name"}, error="e", typed="x" * 4000))

    edit = biggest_flow("lb_edit")
    edit.update(step="edit", lb="ze5k1MQ2uHz9JMQf", orig={
        "lb_name": "n" * 100, "plan": BIGGEST["id"], "plan_name": BIGGEST["name"], "algorithm": "leastconn",
        "targets": [long_host(1000 + n) for n in range(BIGGEST["targets"])],  # every target replaced
        "services": [{"src": 60000 + n, "dst": 1, "hc": False, "px": False, "ssl": False}
                     for n in range(BIGGEST["services"])]})
    assert len(render_lb.changes(tr, edit)) > 300
    fits(render_lb.edit_menu(tr, edit, error="e" * 200))
    fits(render_lb.edit_summary(tr, edit, edit["field_errors"], ("x" * 300,)))
    fits(render_lb.services_screen(tr, {**edit, "step": "services"}))
    fits(render_lb.ask_name(tr, {**edit, "step": "name"}, error="e", typed="x" * 4000))


def test_the_issue_case_lb02_with_five_services_and_forty_targets():
    tr = translator("en")
    lb = LoadBalancer.from_api({
        "hash": "H1", "name": "edge-lb-01", "plan": 18, "plan_name": "LB02", "status": "active",
        "real_status": "started",
        "services": [{"source_port": 8000 + n, "destination_port": 80, "health_check": True} for n in range(5)],
        "targets": [{"name": f"t{n}", "ip": f"10.0.0.{n + 1}"} for n in range(40)]})
    reports = biggest_reports(lb, down=lambda n: n in (7, 30))
    screen = render_lb.lb_health(tr, lb, reports)
    fits(screen)
    assert "noop" not in {b.action for row in screen.rows for b in row}  # five backends: one page
    text = strip_tags(screen.text)
    # DOWN first, each by address; the 38 UP ones as a count.
    assert text.count("DOWN · 10.0.0.8:80") == 5 and text.count("DOWN · 10.0.0.31:80") == 5
    assert text.count("UP · targets: 38") == 5 and "UP · 10.0.0.1:" not in text
    for block in text.split("\n\n")[1:]:
        lines = block.splitlines()
        assert lines[1].startswith("🔴") and lines[2].startswith("🔴") and lines[3].startswith("🟢")
    detail = strip_tags(render_lb.lb_detail(tr, lb, None).text)
    assert "10.0.0.8" in detail and "10.0.0.9" not in detail and "… and 32 more" in detail


def test_a_short_backend_lists_every_target_down_first():
    tr = translator("en")
    servers = [BackendServer("a", "UP", "tcp", "10.0.0.1", "80"), BackendServer("b", "DOWN", "tcp", "10.0.0.2", "80")]
    lb = LoadBalancer.from_api({"hash": "H1", "name": "x", "real_status": "started", "status": "active"})
    text = strip_tags(render_lb.lb_health(tr, lb, {"bk_web_80": servers}).text)
    assert text.index("DOWN · 10.0.0.2:80") < text.index("UP · 10.0.0.1:80")


def test_health_pages_carry_the_load_balancer_and_the_page():
    tr = translator("fa")
    lb = LoadBalancer.from_api({"hash": "H1", "name": "x", "real_status": "started", "status": "active"})
    reports = {f"bk_web_{n}": [BackendServer("a", "UP", "tcp", "10.0.0.1", "80")] for n in range(12)}
    first, second = render_lb.lb_health(tr, lb, reports, 0), render_lb.lb_health(tr, lb, reports, 1)
    args = lambda s: [(b.action, b.arg) for row in s.rows for b in row if b.action != "noop"]  # noqa: E731
    assert args(first)[:2] == [("lb.health", "H1.1"), ("lb.health", "H1")]  # », then Refresh (page 1)
    assert args(second)[:2] == [("lb.health", "H1.0"), ("lb.health", "H1.1")]  # «, then Refresh (page 2)
    assert "bk_web_7" in first.text and "bk_web_8" not in first.text and "bk_web_8" in second.text
    assert strip_tags(tr.t("lb.health.range", first=9, last=12, total=12)) in strip_tags(second.text)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_typed_answers_are_echoed_clipped(lang):
    tr = translator(lang)
    flow = create_flow(step="svc_dst")
    for screen in (render_lb.ask_name(tr, flow, error="e", typed="x" * 4000),
                   render_lb.ask_target(tr, flow, error="e", typed="x" * 4000),
                   render_lb.ask_port(tr, flow, "dst", error="e", typed="9" * 4000)):
        fits(screen)
        text = strip_tags(screen.text)
        assert "x" * ECHO_MAX not in text and "9" * ECHO_MAX not in text and "…" in text


def test_the_create_summary_reaches_every_step():
    screen = render_lb.summary(translator("en"), create_flow())
    goto = [b.arg for row in screen.rows for b in row if b.action == "lbf.go"]
    assert goto == ["name", "location", "plan", "algorithm", "targets", "services"]


def test_api_messages_stay_on_their_step():
    tr = translator("en")
    flow = create_flow(field_errors={"name": ["name taken"], "location": ["location gone"], "plan": ["plan gone"],
                                     "algorithm": ["algorithm bad"], "targets": ["targets bad"],
                                     "services": ["services bad"]})
    screens = {"name": render_lb.ask_name(tr, flow), "location": render_lb.pick_location(tr, flow, []),
               "plan": render_lb.pick_plan(tr, flow, []), "algorithm": render_lb.pick_algorithm(tr, flow),
               "targets": render_lb.targets_screen(tr, flow), "services": render_lb.services_screen(tr, flow)}
    for step, screen in screens.items():
        mine = flow["field_errors"][step][0]
        others = [m[0] for s, m in flow["field_errors"].items() if s != step]
        assert mine in screen.text and not any(o in screen.text for o in others), step


def test_a_name_too_long_for_an_update_blocks_the_review():
    tr = translator("en")
    flow = edit_flow(lb_name="x" * 60, algorithm="roundrobin")
    flow["orig"]["lb_name"] = "x" * 60
    menu = render_lb.edit_menu(tr, flow)
    assert "60 characters" in strip_tags(menu.text)
    assert "summary" not in [b.arg for row in menu.rows for b in row]
    assert "lbf.confirm" not in {b.action for row in render_lb.edit_summary(tr, flow).rows for b in row}
    flow["lb_name"] = "x" * 50
    assert "summary" in [b.arg for row in render_lb.edit_menu(tr, flow).rows for b in row]


def test_a_target_typed_with_the_persian_decimal_separator_is_understood():
    assert validate_target("۱۰٫۰٫۰٫۵") == ("10.0.0.5", None)
