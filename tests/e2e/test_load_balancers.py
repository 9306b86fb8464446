"""Load balancers end to end, in English and in Persian: create (targets from a server and
typed, services with toggles), details, change (rename, SSL), reinstall, health report,
backend DOWN/UP notices, delete; bad inputs, double taps and API refusals on the way."""
from __future__ import annotations

import asyncio

import aiohttp

from bot.i18n import Html, strip_tags
from bot.manageit.client import ManageITAPI
from bot.ui import render_lb
from bot.ui.render import clip, status_text

from .conftest import ALICE_TOKEN, POLL, _norm, connect, labels, second_tap_answers

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


async def test_load_balancer_journey(alice, sandbox, control):
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
    assert answers[-1]["text"] in second_tap_answers(tr)
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
    assert (await alice.answered(2))[-1]["text"] in second_tap_answers(tr)
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


async def test_api_refusals_come_back_beside_their_step(alice, sandbox):
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_summary(alice)

    # ManageIT fails: a clear message, the summary again, nothing lost.
    sandbox.state.config.fault_method = "POST"  # the notifier's GETs must not take the fault
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
    message = _norm(tr.api("targets نباید بیشتر از 1 آیتم داشته باشد."))  # in the user's language
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


async def test_double_taps_after_a_failure_or_on_next_do_one_thing(alice, sandbox):
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
    assert (await alice.answered(2))[-1]["text"] in second_tap_answers(tr)
    await alice.expect_key("error.server")
    await asyncio.sleep(0.3)
    assert [r["status"] for r in lb_posts(sandbox)] == [500]

    # Back to the targets: a double tap on Next moves one step, to the services.
    await alice.press_key("lb.btn.targets", count=2)
    targets = await alice.expect_key("lb.targets.help")
    await alice.press(tr.plain("lb.btn.next"), message_id=targets["message_id"])
    await alice.press(tr.plain("lb.btn.next"), message_id=targets["message_id"])
    assert (await alice.answered(2))[-1]["text"] in second_tap_answers(tr)
    await alice.expect_key("lb.services.help")
    await asyncio.sleep(0.3)
    assert _norm(strip_tags(tr.t("lb.services.help"))) in _norm((await alice.menu())["text"])


async def test_cancel_and_back_send_nothing(alice, sandbox):
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


async def test_in_a_group_typed_answers_are_replies(alice, bob, sandbox, control):
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


# -- big load balancers, paging, long input, refused parts ---------------------------------
async def lb_through_api(sandbox, project_hash: str, name: str, targets, ports, plan: str = "31") -> str:
    """A running load balancer made straight through the API; its age is fixed to two hours,
    so that its detail reads the same from one second to the next."""
    async with ManageITAPI(sandbox.url) as api:
        lb = await api.client(ALICE_TOKEN).load_balancers.create(
            project_hash, name=name, plan=plan, location=4, algorithm="roundrobin", targets=list(targets),
            services=[{"source_port": p, "destination_port": 80, "health_check": True, "proxy": False} for p in ports])
    sandbox.state.settle()
    sandbox.state.find_load_balancer(lb.hash).created -= 7200
    return lb.hash


async def open_lb(person, name: str, count: int = 1) -> None:
    """From /projects to the detail of load balancer `name`."""
    await connect(person)
    await person.say("/projects")
    await person.expect_key("projects.title", count=1)
    await person.press_match("Production")
    await person.press_key("btn.load_balancers")
    await person.expect_menu_key("lb.list.title", project="Production", count=count)
    await person.press_match(name[:20])


async def test_a_big_load_balancer_fits_and_its_health_report_pages(alice, sandbox):
    """LB02 with 12 health-checked services and 40 targets: the detail cuts its lists, the
    health report pages by backend (DOWN targets first, UP ones counted), and the targets
    step pages its Remove buttons; every screen is accepted by Telegram."""
    tr = alice.tr
    project_hash, _ = await project_with_server(sandbox, with_server=False)
    targets = [f"10.0.1.{n}" for n in range(1, 41)]
    ports = list(range(8001, 8013))
    lb_hash = await lb_through_api(sandbox, project_hash, "big-lb-01", targets, ports, plan="18")
    lb = sandbox.state.find_load_balancer(lb_hash)
    lb.target_status.update({"10.0.1.7": "DOWN", "10.0.1.33": "DOWN"})

    await open_lb(alice, "big-lb-01")
    detail = await alice.expect_menu_key("lb.detail_plan", name="LB02", performance=2, services=15, targets=75)
    text = _norm(detail["text"])
    assert _norm(strip_tags(tr.t("lb.more", count=32))) in text  # 40 targets, 8 listed
    assert _norm(strip_tags(tr.t("lb.more", count=4))) in text  # 12 services, 8 listed
    assert "10.0.1.8" in text and "10.0.1.9" not in text

    # The health report: backends 1–8 of 12; in each, the DOWN targets by address, the UP ones as a count.
    await alice.press_key("lb.btn.health")
    first = await alice.expect_menu_key("lb.health.range", first=1, last=8, total=12)
    text = _norm(first["text"])
    for backend in ("bk_web_8001", "bk_web_8008"):
        assert _norm(strip_tags(tr.t("lb.health.backend", backend=backend, up=38, total=40))) in text
    assert "bk_web_8009" not in text
    for ip in ("10.0.1.7", "10.0.1.33"):
        assert text.count(_norm(strip_tags(tr.t("lb.health.down", address=f"{ip}:80")))) == 8
    assert text.count(_norm(strip_tags(tr.t("lb.health.up_count", count=38)))) == 8
    assert _norm(strip_tags(tr.t("lb.health.up", address="10.0.1.1:80"))) not in text
    assert tr.plain("btn.page", current=1, total=2) in labels(first)

    # The next page: backends 9–12; its Refresh stays on it and says nothing changed.
    await alice.press("»", message_id=first["message_id"])
    second = await alice.expect_menu_key("lb.health.range", first=9, last=12, total=12)
    assert "bk_web_8012" in second["text"] and "bk_web_8001" not in second["text"]
    await alice.press_key("btn.refresh")
    assert (await alice.answered())[-1]["text"] == tr.plain("callback.up_to_date")

    # Changing its targets: eight a page, each with its Remove button.
    await alice.press_key("btn.back")
    await alice.expect_menu_key("lb.detail_plan", name="LB02", performance=2, services=15, targets=75)
    await alice.press_key("lb.btn.edit")
    await alice.expect_menu_key("lb.edit.intro")
    await alice.press_key("lb.btn.targets", count=40)
    page1 = await alice.expect_menu_key("lb.targets.help")
    removes = [label for label in labels(page1) if label.startswith("✖") and "10.0.1." in label]
    assert removes == [tr.plain("lb.btn.remove", item=f"10.0.1.{n}") for n in range(1, 9)]
    assert tr.plain("btn.page", current=1, total=5) in labels(page1)
    await alice.press("»", message_id=page1["message_id"])
    await alice.expect_menu_key("lb.target_line", address="10.0.1.16")
    await alice.press_key("lb.btn.remove", item="10.0.1.12")
    page2 = await alice.expect_menu_key("lb.targets.title", count=Html(tr.t("lb.count_of", count=39, max=75)))
    assert tr.plain("btn.page", current=2, total=5) in labels(page2)
    assert tr.plain("lb.btn.remove", item="10.0.1.17") in labels(page2)  # the next one moved up
    await alice.press_key("lb.btn.done")
    await alice.expect_menu_key("lb.chg.target_removed", address="10.0.1.12")


async def test_refresh_with_nothing_changed_says_up_to_date(alice, sandbox):
    tr = alice.tr
    project_hash, _ = await project_with_server(sandbox, with_server=False)
    await lb_through_api(sandbox, project_hash, "edge-lb-01", ["10.0.0.1"], [80])
    await open_lb(alice, "edge-lb-01")
    await alice.expect_menu_key("lb.detail_plan", name="LB01", performance=1, services=5, targets=25)
    await alice.press_key("btn.refresh")
    assert (await alice.answered())[-1]["text"] == tr.plain("callback.up_to_date")
    await alice.press_key("lb.btn.health")
    await alice.expect_menu_key("lb.health.backend", backend="bk_web_80", up=1, total=1)
    await alice.press_key("btn.refresh")
    assert (await alice.answered())[-1]["text"] == tr.plain("callback.up_to_date")


async def walk_to_targets(person) -> dict:
    await person.press_key("lb.btn.new")
    await person.expect_menu_key("lb.create.name")
    await person.say("api-balancer")
    await person.expect_menu_key("lb.create.location", name="api-balancer")
    await person.press_match("شتاب")
    await person.expect_menu_key("lb.create.plan", location="شتاب")
    await person.press_match("LB01")
    await person.expect_menu_key("lb.pick_algorithm")
    await person.press(person.tr.plain("lb.algo.roundrobin"))
    return await person.expect_menu_key("lb.targets.help")


async def test_the_servers_to_pick_from_are_paged(alice, sandbox):
    tr = alice.tr
    async with ManageITAPI(sandbox.url) as api:
        client = api.client(ALICE_TOKEN)
        project = await client.projects.create("Production")
        for n in range(1, 11):
            await client.servers.create(project.hash, location=4, plan=40, os=18, hostname=f"web-{n:02d}",
                                        password="Passw0rd-123")
        sandbox.state.settle()
        ips = {s.name: s.primary_ipv4 for s in await client.servers.list(project.hash)}
    await open_load_balancers(alice)
    await walk_to_targets(alice)
    await alice.press_key("lb.btn.from_servers")
    first = await alice.expect_menu_key("lb.pick_server", project="Production")
    names = lambda m: [n for n in ips if tr.plain("lb.server_item", name=n, ip=ips[n]) in labels(m)]  # noqa: E731
    on_first = names(first)
    assert len(on_first) == 8 and tr.plain("btn.page", current=1, total=2) in labels(first)
    await alice.press("»", message_id=first["message_id"])
    second = await wait_label(alice, first["message_id"], tr.plain("btn.page", current=2, total=2))
    on_second = names(second)
    assert len(on_second) == 2 and set(on_first) | set(on_second) == set(ips)
    last = on_second[-1]
    await alice.press(tr.plain("lb.server_item", name=last, ip=ips[last]), message_id=second["message_id"])
    await alice.expect_menu_key("lb.target_line_server", address=ips[last], server=last)


async def test_a_refused_location_and_plan_are_fixed_from_the_summary(alice, sandbox):
    """ManageIT refuses the location and the plan (gone since they were chosen): each message
    shows on the summary and on its own step, reachable from the summary, until changed."""
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_summary(alice)
    sandbox.state.locations = [loc for loc in sandbox.state.locations if loc["id"] != 3]
    sandbox.state.lb_plans = [p for p in sandbox.state.lb_plans if p["id"] != 31]
    location_msg, plan_msg = _norm(tr.api("location انتخاب شده معتبر نیست.")), _norm(tr.api("plan انتخاب شده معتبر نیست."))

    await alice.press_key("lb.btn.confirm_create")
    refused = await alice.expect_menu_key("error.validation")
    assert location_msg in _norm(refused["text"]) and plan_msg in _norm(refused["text"])

    # The name step is reachable too, and Back from it returns to the summary.
    await alice.press_key("lb.btn.name")
    await alice.expect_menu_key("lb.create.name")
    await alice.press_key("btn.back")
    await alice.expect_menu_key("lb.summary")

    await alice.press_key("lb.btn.location")
    where = await alice.expect_menu_key("lb.create.location", name="api-balancer")
    assert location_msg in _norm(where["text"]) and plan_msg not in _norm(where["text"])
    await alice.press("پارسیان", message_id=where["message_id"])
    back_at = await alice.expect_menu_key("lb.sum.location", location="پارسیان")  # straight back to the summary
    assert location_msg not in _norm(back_at["text"]) and plan_msg in _norm(back_at["text"])

    await alice.press_key("lb.btn.plan")
    plans = await alice.expect_menu_key("lb.create.plan", location="پارسیان")
    assert plan_msg in _norm(plans["text"])
    await alice.press_match("LB02")
    fixed = await alice.expect_menu_key("lb.sum.price", monthly=tr.price(900000))
    assert location_msg not in _norm(fixed["text"]) and plan_msg not in _norm(fixed["text"])
    await alice.press_key("lb.btn.confirm_create")
    await alice.expect_key("lb.created", name="api-balancer", status=status_text(tr, "creating"))
    assert [r["status"] for r in lb_posts(sandbox)] == [422, 200]
    lb = the_lb(sandbox)
    assert (lb.location_id, lb.plan_id, [t["ip"] for t in lb.targets]) == (4, 18, ["10.0.0.1", "10.0.0.2"])


async def test_a_name_too_long_for_a_change_is_renamed_first(alice, sandbox):
    """Created with 60 characters (create allows 100); an update takes 50 and every PUT
    resends the name: the change flow says so and starts at Rename."""
    tr = alice.tr
    project_hash, _ = await project_with_server(sandbox, with_server=False)
    long_name = "long-" + "a" * 55
    await lb_through_api(sandbox, project_hash, long_name, ["10.0.0.1"], [80])
    await open_lb(alice, long_name)
    await alice.expect_menu_key("lb.detail_plan", name="LB01", performance=1, services=5, targets=25)
    await alice.press_key("lb.btn.edit")
    await alice.expect_menu_key("lb.edit.name_too_long", length=60, max=50)
    await alice.expect_menu_key("lb.edit.ask_name", name=long_name)

    # Another change first: still no way to send it.
    await alice.press_key("btn.back")
    await alice.expect_menu_key("lb.edit.intro")
    await alice.press_key("lb.btn.algorithm")
    await alice.expect_menu_key("lb.pick_algorithm")
    await alice.press_key("lb.algo.leastconn")
    menu = await alice.expect_menu_key("lb.chg.algorithm", old=tr.plain("lb.algo.roundrobin"),
                                       new=tr.plain("lb.algo.leastconn"))
    assert _norm(strip_tags(tr.t("lb.edit.name_too_long", length=60, max=50))) in _norm(menu["text"])
    assert tr.plain("lb.btn.review") not in labels(menu)

    await alice.press_key("btn.rename")
    await alice.expect_menu_key("lb.edit.ask_name", name=long_name)
    await alice.say(NEW_NAME)
    menu = await alice.expect_menu_key("lb.chg.name", old=long_name, new=NEW_NAME)
    assert _norm(strip_tags(tr.t("lb.edit.name_too_long", length=60, max=50))) not in _norm(menu["text"])
    await alice.press_key("lb.btn.review")
    await alice.expect_menu_key("lb.edit.summary", name=long_name)
    await alice.press_key("lb.btn.confirm_save")
    await alice.expect_key("lb.saved")
    assert [r["status"] for r in sandbox.state.requests("PUT")] == [200]
    lb = the_lb(sandbox)
    assert (lb.name, lb.algorithm) == (NEW_NAME, "leastconn")


async def test_very_long_typed_answers_are_refused_in_place(alice, sandbox):
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await alice.press_key("lb.btn.new")
    await alice.expect_menu_key("lb.create.name")
    await alice.say("x" * 4000)
    await alice.expect_menu_key("lb.input_error", error=tr.plain("lb.name_long", max=100), typed=clip("x" * 4000))
    await human_pause()
    await alice.say("api-balancer")
    await alice.expect_menu_key("lb.create.location", name="api-balancer")
    await alice.press_match("شتاب")
    await alice.expect_menu_key("lb.create.plan", location="شتاب")
    await alice.press_match("LB01")
    await alice.expect_menu_key("lb.pick_algorithm")
    await alice.press(tr.plain("lb.algo.roundrobin"))
    await alice.expect_menu_key("lb.targets.help")
    await alice.press_key("lb.btn.type_target")
    await alice.expect_menu_key("lb.ask_target")
    await alice.say("a" * 4000)
    await alice.expect_menu_key("lb.input_error", error=tr.plain("lb.target_invalid"), typed=clip("a" * 4000))
    await human_pause()
    await alice.say("10.0.0.1")
    await alice.expect_menu_key("lb.target_line", address="10.0.0.1")
    await alice.press_key("lb.btn.next")
    await alice.expect_menu_key("lb.services.help")
    await alice.press_key("lb.btn.add_service")
    await alice.expect_menu_key("lb.ask_source", number=1)
    await alice.say("۸" * 4000)
    typed = clip("۸" * 4000)  # echoed as typed
    await alice.expect_menu_key("lb.input_error", error=tr.plain("lb.port_invalid"), typed=typed)


async def test_a_target_beyond_the_plans_limit_is_refused_when_typed(alice, sandbox):
    """The plan shrinks while she is at the typed-target prompt: the bot reads the plan
    again, refuses the target with the plan's limit, and does not add it."""
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_targets(alice)
    await alice.press_key("lb.btn.type_target")
    await alice.expect_menu_key("lb.ask_target")
    await alice.say("10.0.0.1")
    await alice.expect_menu_key("lb.targets.title", count=Html(tr.t("lb.count_of", count=1, max=25)))
    await alice.press_key("lb.btn.type_target")
    await alice.expect_menu_key("lb.ask_target")
    limit_plan(sandbox, targets=1)
    await alice.say("10.0.0.2")
    refused = await alice.expect_menu_key("lb.limit_targets", plan="LB01", max=1)
    text = _norm(refused["text"])
    assert _norm(strip_tags(tr.t("lb.targets.title", count=Html(tr.t("lb.count_of", count=1, max=1))))) in text
    assert "10.0.0.2" not in text
    assert tr.plain("lb.btn.type_target") not in labels(refused)
    await alice.press_key("lb.btn.next")
    await alice.expect_menu_key("lb.services.help")
    await alice.press_key("lb.btn.next")
    await alice.expect_menu_key("lb.summary")
    await alice.press_key("lb.btn.confirm_create")
    await alice.expect_key("lb.created", name="api-balancer", status=status_text(tr, "creating"))
    assert [t["ip"] for t in the_lb(sandbox).targets] == ["10.0.0.1"]


async def test_an_order_whose_answer_is_lost_is_found_not_repeated(alice, sandbox):
    """The POST is carried out but answered after the client's time-out: the bot finds the
    new load balancer instead of inviting a second order."""
    tr = alice.tr
    await project_with_server(sandbox, with_server=False)
    await open_load_balancers(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.latency_after = 6.0
    await alice.press_key("lb.btn.confirm_create")
    await alice.expect("✅", "api-balancer", timeout=12)  # created (by now maybe already active)
    sandbox.state.config.latency_after = 0
    await asyncio.sleep(1.5)
    assert len(lb_posts(sandbox)) == 1
    assert len(list(sandbox.state.all_load_balancers())) == 1
