"""Load balancers end to end, in English and in Persian: create (targets from a server and
typed, services with toggles), details, change (rename, SSL), reinstall, health report,
backend DOWN/UP notices, delete; bad inputs, double taps and API refusals on the way."""
from __future__ import annotations

import asyncio

import aiohttp

from bot.i18n import Html, strip_tags
from bot.manageit.client import ManageITAPI
from bot.ui import render_lb
from bot.ui.render import status_text

from .conftest import ALICE_TOKEN, POLL, _norm, connect, labels

NAME = "edge-lb-01"
NEW_NAME = "edge-lb-02"
TYPED_TARGET = "backend.example.com"


async def project_with_server(sandbox, with_server: bool = True) -> tuple[str, str | None]:
    """A project (and a running server in it), made straight through the API."""
    async with ManageITAPI(sandbox.url) as api:
        client = api.client(ALICE_TOKEN)
        project = await client.projects.create("Production")
        if not with_server:
            return project.hash, None
        server = await client.servers.create(project.hash, location=4, plan=40, os=18, hostname="web-01",
                                             password="Passw0rd-123")
        sandbox.state.settle()
        return project.hash, (await client.servers.get(project.hash, server.hash)).primary_ipv4


async def human_pause() -> None:
    """A person reads before typing on (the bot paces its own sends per chat, too)."""
    await asyncio.sleep(0.1)


def limit_plan(sandbox, plan_id: int = 31, **limits) -> None:
    plan = next(p for p in sandbox.state.lb_plans if p["id"] == plan_id)
    plan.update(limits)


async def open_load_balancers(person) -> None:
    await connect(person)
    await person.say("/projects")
    await person.expect_key("projects.title", count=1)
    await person.press_match("Production")
    await person.press_key("btn.load_balancers")
    await person.expect_key("lb.list.empty", project="Production")


def texts(messages, fragment: str) -> list[str]:
    return [m["text"] for m in messages if m["from_bot"] and _norm(fragment) in _norm(m["text"] or "")]


async def wait_count(person, fragment: str, count: int, timeout: float = 10) -> list[str]:
    """Wait until `count` bot messages hold `fragment`."""
    def find(messages):
        found = texts(messages, fragment)
        return found if len(found) >= count else None

    return await person.control.wait_for(person.chat_id, find, timeout=timeout)


async def wait_label(person, message_id: int, label: str) -> dict:
    """Wait until the message `message_id` shows a button labelled `label`."""
    def find(messages):
        m = next((m for m in messages if m["message_id"] == message_id), None)
        return m if m and label in labels(m) else None

    return await person.control.wait_for(person.chat_id, find)


def lb_posts(sandbox):
    return [r for r in sandbox.state.requests("POST") if r["path"].endswith("/load_balancers")]


def the_lb(sandbox):
    return next(iter(sandbox.state.all_load_balancers()))


async def test_load_balancer_journey(alice, sandbox, control, no_refusals):
    tr = alice.tr
    port = lambda n: render_lb.port(tr, n)  # noqa: E731
    _, server_ip = await project_with_server(sandbox)
    limit_plan(sandbox, targets=2)  # a small plan, so its limit is reached with two targets
    await open_load_balancers(alice)
    await alice.press_key("lb.btn.new")
    await alice.expect_key("lb.create.name")

    # The name: a space is refused in place, then a good one.
    await alice.say("edge lb 01")
    await alice.expect_key("lb.input_error", error=tr.plain("lb.name_chars"), typed="edge lb 01")
    await alice.say(NAME)
    await alice.expect_key("lb.create.location", name=NAME)
    await human_pause()
    await alice.press("پارسیان")
    await alice.expect_key("lb.create.plan", location="پارسیان")
    plans = await alice.expect_key("lb.plan_line", name="LB01", performance=1, services=5, targets=2,
                                   price=tr.price(400000))
    assert _norm(tr.plain("lb.plan_item", name="LB02", performance=2, services=15, targets=75,
                          price=tr.price(900000))) in [_norm(label) for label in labels(plans)]
    await alice.press_match("LB01")
    await alice.expect_key("lb.pick_algorithm")
    await alice.expect(tr.plain("lb.algo.leastconn_help"))
    await alice.press_key("lb.algo.leastconn")

    # Targets: one of the project's servers, one typed; then the plan's limit.
    await alice.expect_key("lb.targets.help")
    await alice.press_key("lb.btn.from_servers")
    await alice.expect_key("lb.pick_server", project="Production")
    await alice.press_match("web-01")
    await alice.expect(server_ip, "web-01")
    await alice.press_key("lb.btn.type_target")
    await alice.expect_key("lb.ask_target")
    await human_pause()
    await alice.say("not a host!")
    await alice.expect_key("lb.input_error", error=tr.plain("lb.target_invalid"), typed="not a host!")
    await alice.say(TYPED_TARGET)
    full = await alice.expect_key("lb.targets.full", plan="LB01", max=2)
    assert tr.plain("lb.btn.type_target") not in labels(full), "no third target beyond the plan's limit"
    assert tr.plain("lb.btn.from_servers") not in labels(full)
    await alice.press_key("lb.btn.next")

    # Services: Persian digits, a port out of range, toggles that switch in place.
    await alice.expect_key("lb.services.help")
    await alice.press_key("lb.btn.add_service")
    await alice.expect_key("lb.ask_source", number=1)
    await human_pause()
    await alice.say("۸۰")
    await alice.expect_key("lb.ask_destination", number=1, source=port(80))
    await alice.say("70000")
    await alice.expect_key("lb.input_error", error=tr.plain("lb.port_invalid"), typed="70000")
    await alice.say("8080")
    options = await alice.expect_key("lb.service_options", number=1, source=port(80), destination=port(8080))
    off = tr.plain("lb.btn.toggle_off", option=tr.plain("lb.opt.proxy"))
    on = tr.plain("lb.btn.toggle_on", option=tr.plain("lb.opt.proxy"))
    assert off in labels(options)
    await alice.press(off, message_id=options["message_id"])
    await wait_label(alice, options["message_id"], on)  # the same message, its button switched
    await alice.press_key("lb.btn.save_service")
    first = {"src": 80, "dst": 8080, "hc": True, "px": True}
    await alice.expect(strip_tags(render_lb.service_text(tr, first, with_ssl=False)))
    await alice.press_key("lb.btn.add_service")
    await alice.expect_key("lb.ask_source", number=2)
    await human_pause()
    await alice.say("443")
    await alice.expect_key("lb.ask_destination", number=2, source=port(443))
    await alice.say("443")
    await alice.expect_key("lb.service_options", number=2, source=port(443), destination=port(443))
    await alice.press_key("lb.btn.save_service")
    second = {"src": 443, "dst": 443, "hc": True, "px": False}
    await alice.expect(strip_tags(render_lb.service_text(tr, second, with_ssl=False)))
    await alice.press_key("lb.btn.next")

    # The summary with the price; a double tap on Confirm sends one request.
    summary = await alice.expect_key("lb.sum.price", monthly=tr.price(400000))
    assert _norm(strip_tags(tr.t("lb.sum.name", name=NAME))) in _norm(summary["text"])
    confirm = tr.plain("lb.btn.confirm_create")
    await alice.press(confirm, message_id=summary["message_id"])
    await alice.press(confirm, message_id=summary["message_id"])
    answers = await alice.answered(2)
    assert answers[-1]["text"] == tr.plain("callback.stale")
    await alice.expect_key("lb.created", name=NAME, status=status_text(tr, "creating"))
    assert len(lb_posts(sandbox)) == 1
    lb = the_lb(sandbox)
    assert (lb.plan_id, lb.location_id, lb.algorithm) == (31, 4, "leastconn")
    assert [t["ip"] for t in lb.targets] == [server_ip, TYPED_TARGET]
    assert [(s["source_port"], s["destination_port"], s["health_check"], s["proxy"]) for s in lb.services] == [
        (80, 8080, True, True), (443, 443, True, False)]

    # The notifier tells her when it is active.
    active = strip_tags(tr.t("lb.notify.status", name=NAME, status=tr.raw("status.active"),
                             real_status=tr.raw("status.started"))).rstrip(".")
    await wait_count(alice, active, 1)

    # Details: status, plan with its limits and price, IPs, services, targets.
    await alice.press_key("lb.btn.open")
    detail = await alice.expect_key("lb.detail_plan", name="LB01", performance=1, services=5, targets=2)
    text = _norm(detail["text"])
    lb_ip = next(ip["ip"] for ip in lb.ips if ip["type"] == "ipv4")
    for fragment in (tr.price(400000), tr.plain("lb.algo.leastconn"), lb_ip, server_ip, TYPED_TARGET,
                     strip_tags(render_lb.service_text(tr, {**first, "ssl": False})),
                     strip_tags(render_lb.service_text(tr, {**second, "ssl": False}))):
        assert _norm(fragment) in text, fragment

    # Rename: 51 characters are refused in place, then a good name; one PUT.
    await alice.press_key("lb.btn.edit")
    await alice.expect_key("lb.edit.intro")
    await alice.press_key("btn.rename")
    await alice.expect_key("lb.edit.ask_name", name=NAME)
    await human_pause()
    await alice.say("x" * 51)
    await alice.expect_key("lb.input_error", error=tr.plain("lb.name_long", max=50), typed="x" * 51)
    await alice.say(NEW_NAME)
    await alice.expect_key("lb.chg.name", old=NAME, new=NEW_NAME)
    await alice.press_key("lb.btn.review")
    await alice.expect_key("lb.edit.summary", name=NAME)
    await alice.press_key("lb.btn.confirm_save")
    await alice.expect_key("lb.saved")
    assert len(sandbox.state.requests("PUT")) == 1 and lb.name == NEW_NAME

    # SSL on one service, switched in place, then one summary and one PUT.
    await alice.press_key("lb.btn.edit")
    await alice.press_key("lb.btn.services", count=2)
    ports = tr.plain("lb.ports", source=port(443), destination=port(443))
    ssl_off = tr.plain("lb.btn.toggle_off", option=tr.plain("lb.opt.ssl", ports=ports))
    ssl_on = tr.plain("lb.btn.toggle_on", option=tr.plain("lb.opt.ssl", ports=ports))
    menu = await alice.expect_key("lb.services.help_edit")
    assert ssl_off in labels(menu)
    await alice.press(ssl_off, message_id=menu["message_id"])
    await wait_label(alice, menu["message_id"], ssl_on)
    await alice.press_key("lb.btn.done")
    await alice.expect_key("lb.chg.ssl", ports=ports, old=tr.plain("lb.off"), new=tr.plain("lb.on"))
    await alice.press_key("lb.btn.review")
    await alice.press_key("lb.btn.confirm_save")
    await alice.expect_key("lb.saved")
    assert len(sandbox.state.requests("PUT")) == 2
    assert [s["use_ssl"] for s in lb.services] == [False, True]

    # Reinstall: the confirmation names it; Cancel does nothing; then yes.
    await alice.press_key("lb.btn.reinstall")
    await alice.expect_key("lb.reinstall_confirm", name=NEW_NAME, ip=lb_ip)
    await alice.press_key("btn.cancel")
    await alice.expect_key("lb.detail_plan", name="LB01", performance=1, services=5, targets=2)
    assert not sandbox.state.requests("POST", "/reinstall")
    await alice.press_key("lb.btn.reinstall")
    await alice.expect_key("lb.reinstall_confirm", name=NEW_NAME, ip=lb_ip)
    await alice.press_key("lb.btn.reinstall_yes")
    await alice.expect_key("lb.reinstalling", name=NEW_NAME, status=status_text(tr, "reinstalling"))
    assert len(sandbox.state.requests("POST", "/reinstall")) == 1
    active_again = strip_tags(tr.t("lb.notify.status", name=NEW_NAME, status=tr.raw("status.active"),
                                   real_status=tr.raw("status.started"))).rstrip(".")
    await wait_count(alice, active_again, 1)

    # A target goes DOWN: one notice per backend, once; then UP again.
    reports_before = len(sandbox.state.requests("GET", "/reports"))
    await asyncio.sleep(POLL * 2)
    assert len(sandbox.state.requests("GET", "/reports")) > reports_before, "running and health-checked: watched"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.url}/_sandbox/load_balancers/{lb.hash}/targets/status",
                             json={"ip": TYPED_TARGET, "status": "DOWN"}) as resp:
            assert resp.status == 200
    for backend in ("bk_web_80", "bk_web_443"):
        down = strip_tags(tr.t("lb.notify.backend_down", name=NEW_NAME, target=TYPED_TARGET, backend=backend))
        await wait_count(alice, down, 1)

    # The health report, readable on a phone: each backend with its servers, UP or DOWN.
    await alice.press_key("lb.btn.open")
    await alice.press_key("lb.btn.health")
    health = await alice.expect_key("lb.health.backend", backend="bk_web_443", up=1, total=2)
    text = _norm(health["text"])
    assert _norm(strip_tags(tr.t("lb.health.backend", backend="bk_web_80", up=1, total=2))) in text
    assert _norm(strip_tags(tr.t("lb.health.down", address=f"{TYPED_TARGET}:443"))) in text
    assert _norm(strip_tags(tr.t("lb.health.up", address=f"{server_ip}:8080"))) in text
    assert max(len(line) for line in health["text"].splitlines()) <= 60

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.url}/_sandbox/load_balancers/{lb.hash}/targets/status",
                             json={"ip": TYPED_TARGET, "status": "UP"}) as resp:
            assert resp.status == 200
    for backend in ("bk_web_80", "bk_web_443"):
        up = strip_tags(tr.t("lb.notify.backend_up", name=NEW_NAME, target=TYPED_TARGET, backend=backend))
        await wait_count(alice, up, 1)
    await asyncio.sleep(POLL * 3)
    messages = await alice.messages()
    for backend in ("bk_web_80", "bk_web_443"):
        for key in ("lb.notify.backend_down", "lb.notify.backend_up"):
            told = texts(messages, strip_tags(tr.t(key, name=NEW_NAME, target=TYPED_TARGET, backend=backend)))
            assert len(told) == 1, (key, backend, told)  # each change told once
    assert len(texts(messages, active)) == 1 and len(texts(messages, active_again)) == 1

    # Delete: the confirmation names it; Cancel does nothing; then yes, once.
    await alice.press_key("btn.back")
    await alice.press_key("btn.delete")
    await alice.expect_key("lb.delete_confirm", name=NEW_NAME, ip=lb_ip)
    await alice.press_key("btn.cancel")
    await alice.expect_key("lb.detail_plan", name="LB01", performance=1, services=5, targets=2)
    assert not sandbox.state.requests("DELETE")
    await alice.press_key("btn.delete")
    confirm_delete = await alice.expect_key("lb.delete_confirm", name=NEW_NAME, ip=lb_ip)
    await alice.press(tr.plain("btn.delete_yes"), message_id=confirm_delete["message_id"])
    await alice.press(tr.plain("btn.delete_yes"), message_id=confirm_delete["message_id"])
    assert (await alice.answered(2))[-1]["text"] == tr.plain("callback.stale")
    await alice.expect_key("lb.deleted", name=NEW_NAME)
    assert len(sandbox.state.requests("DELETE")) == 1
    assert not list(sandbox.state.all_load_balancers())


async def walk_to_summary(person, targets=("10.0.0.1", "10.0.0.2")) -> dict:
    await person.press_key("lb.btn.new")
    await person.expect_key("lb.create.name")
    await person.say("api-balancer")
    await person.expect_key("lb.create.location", name="api-balancer")
    await person.press_match("شتاب")
    await person.expect_key("lb.create.plan", location="شتاب")
    await person.press_match("LB01")
    await person.expect_key("lb.pick_algorithm")
    await person.press(person.tr.plain("lb.algo.roundrobin"))
    await person.expect_key("lb.targets.help")
    for ip in targets:
        await person.press_key("lb.btn.type_target")
        await person.expect_key("lb.ask_target")
        await person.say(ip)
        await person.expect(ip)
    await person.press_key("lb.btn.next")
    await person.expect_key("lb.services.help")
    await person.press_key("lb.btn.next")
    return await person.expect_key("lb.summary")


async def test_api_refusals_come_back_beside_their_step(alice, sandbox, no_refusals):
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_summary(alice)

    # ManageIT fails: a clear message, the summary again, nothing lost.
    sandbox.state.config.fail_next = 1
    await alice.press_key("lb.btn.confirm_create")
    failed = await alice.expect_key("error.server")
    assert _norm(strip_tags(tr.t("lb.sum.name", name="api-balancer"))) in _norm(failed["text"])
    assert tr.plain("lb.btn.confirm_create") in labels(failed)

    # The plan shrank meanwhile: the 422 message sits under the targets, not elsewhere.
    limit_plan(sandbox, targets=1)
    await alice.press_key("lb.btn.confirm_create")
    refused = await alice.expect_key("error.validation")
    text = _norm(refused["text"])
    message = _norm("targets نباید بیشتر از 1 آیتم داشته باشد.")
    assert message in text
    targets_at = text.index(_norm(strip_tags(tr.t("lb.sum.targets", count=Html(tr.t("lb.count_of", count=2, max=25))))))
    services_at = text.index(_norm(strip_tags(tr.t("lb.sum.services", count=Html(tr.t("lb.count_of", count=0, max=5))))))
    assert targets_at < text.index(message) < services_at

    # Fix it from the summary: the targets step says the plan now allows one.
    await alice.press_key("lb.btn.targets", count=2)
    await alice.press_key("lb.btn.remove", item="10.0.0.2")
    await alice.expect_key("lb.targets.title", count=Html(tr.t("lb.count_of", count=1, max=25)))
    await alice.press_key("lb.btn.next")
    await alice.expect_key("lb.services.help")
    await alice.press_key("lb.btn.next")
    await alice.expect_key("lb.summary")
    await alice.press_key("lb.btn.confirm_create")
    await alice.expect_key("lb.created", name="api-balancer", status=status_text(tr, "creating"))
    assert [r["status"] for r in lb_posts(sandbox)] == [500, 422, 200]


async def test_double_taps_after_a_failure_or_on_next_do_one_thing(alice, sandbox, no_refusals):
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    summary = await walk_to_summary(alice)

    # The first tap on Confirm fails and the summary comes back; the second tap, made on the
    # screen the failure replaced, sends nothing.
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.fail_next = 1
    confirm = tr.plain("lb.btn.confirm_create")
    await alice.press(confirm, message_id=summary["message_id"])
    await alice.press(confirm, message_id=summary["message_id"])
    assert (await alice.answered(2))[-1]["text"] == tr.plain("callback.stale")
    await alice.expect_key("error.server")
    await asyncio.sleep(0.3)
    assert [r["status"] for r in lb_posts(sandbox)] == [500]

    # Back to the targets: a double tap on Next moves one step, to the services.
    await alice.press_key("lb.btn.targets", count=2)
    targets = await alice.expect_key("lb.targets.help")
    await alice.press(tr.plain("lb.btn.next"), message_id=targets["message_id"])
    await alice.press(tr.plain("lb.btn.next"), message_id=targets["message_id"])
    assert (await alice.answered(2))[-1]["text"] == tr.plain("callback.stale")
    await alice.expect_key("lb.services.help")
    await asyncio.sleep(0.3)
    assert _norm(strip_tags(tr.t("lb.services.help"))) in _norm((await alice.menu())["text"])


async def test_cancel_and_back_send_nothing(alice, sandbox, no_refusals):
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_summary(alice, targets=("10.0.0.9",))
    await alice.press_key("btn.back")
    await alice.expect_key("lb.services.help")
    await alice.press_key("btn.back")
    await alice.expect_key("lb.targets.help")
    await alice.press_key("btn.cancel")
    await alice.expect_key("common.cancelled")
    assert not lb_posts(sandbox)
    await alice.press_key("btn.load_balancers")
    await alice.expect_key("lb.list.empty", project="Production")


async def test_in_a_group_typed_answers_are_replies(alice, bob, sandbox, control, no_refusals):
    group = -100777
    await control.create_chat(group, type="supergroup", title="Ops", members=[alice.user_id, bob.user_id],
                              bot_is_admin=True)
    await project_with_server(sandbox, with_server=False)
    await connect(alice)
    a, b = alice.in_chat(group), bob.in_chat(group)
    await a.say("/projects@manageit_test_bot")
    await a.expect_key("projects.title", count=1)
    await a.press_match("Production")
    await a.press_key("btn.load_balancers")
    await a.press_key("lb.btn.new")
    await a.expect_key("lb.create.name")
    prompt = await a.expect(_norm(strip_tags(alice.tr.t("common.reply_here", user=Html("Alice")))))
    assert prompt["force_reply"]
    await b.press_key("btn.cancel")  # not Bob's menu
    assert (await b.answered())[-1]["text"] == bob.tr.plain("callback.not_yours")
    await a.say("group-lb-01", reply_to=prompt["message_id"])
    await a.expect_key("lb.create.location", name="group-lb-01")
