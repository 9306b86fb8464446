"""Creating servers: bad input, double taps, and every kind of API failure."""
from __future__ import annotations

import asyncio

from bot.i18n import strip_tags
from bot.manageit.client import ManageITAPI
from bot.ui.render import status_text

from .conftest import ALICE_TOKEN, _norm, connect, labels, second_tap_answers


async def open_project(person, name="Production"):
    await connect(person)
    await person.say("/projects")
    await person.expect_key("projects.empty")
    await person.press_key("btn.new_project")
    await person.expect_key("project.new_prompt")
    await person.say(name)
    await person.expect_key("project.created", name=name)


async def walk_to_plan(person):
    await person.press_key("btn.servers")
    await person.expect_key("servers.empty", project="Production")
    await person.press_key("btn.new_server")
    await person.expect_menu_key("create.location")
    await person.press("پارسیان")
    await person.expect_menu_key("create.plan", location="پارسیان")


async def walk_to_hostname(person):
    await walk_to_plan(person)
    await person.press_match("GH-1")
    await person.expect_key("create.os")
    await person.press("Debian")
    await person.expect_key("create.version", os="Debian")
    await person.press("Debian 12")
    await person.expect_key("create.hostname")


async def walk_to_summary(person, hostname="db-server-1"):
    await walk_to_hostname(person)
    await person.say(hostname)
    await person.expect_key("create.password")
    sent = await person.say("S3cure-Passw0rd!")
    await person.expect_key("create.summary")
    return sent


def server_posts(sandbox):
    return [r for r in sandbox.state.requests("POST") if r["path"].endswith("/servers")]


async def test_short_hostname_is_refused_in_place_then_persian_digits_work(alice, sandbox):
    await open_project(alice)
    await walk_to_hostname(alice)
    await alice.say("web")
    error = await alice.expect(alice.tr.plain("create.hostname_short", min=6))
    assert "web" in error["text"]
    assert any(b["text"] == alice.label("btn.back") for row in error["buttons"] for b in row)
    await alice.say("node-۰۱۲")  # Persian digits, as typed on a Persian keyboard
    await alice.expect_key("create.password")
    sent = await alice.say("S3cure-Passw0rd!")
    summary = await alice.expect_key("create.summary")
    assert "node-012" in summary["text"]
    assert "S3cure-Passw0rd!" not in summary["text"]
    assert next(m for m in await alice.messages() if m["message_id"] == sent["message_id"])["deleted"]
    await alice.press_key("btn.confirm_create")
    await alice.expect_key("create.created", name="node-012", status=strip_tags(alice.tr.t("status.creating")))
    body = server_posts(sandbox)
    assert len(body) == 1


async def test_hostname_with_a_space_and_a_short_password(alice):
    await open_project(alice)
    await walk_to_hostname(alice)
    await alice.say("my server")
    await alice.expect(alice.tr.plain("create.hostname_chars"))
    await alice.say("my-server")
    await alice.expect_key("create.password")
    await alice.say("short")
    await alice.expect(alice.tr.plain("create.password_length", min=8, max=100))


async def test_double_tap_on_confirm_creates_one_server(alice, sandbox, control):
    await open_project(alice)
    await walk_to_summary(alice)
    menu = await alice.menu()
    label = alice.label("btn.confirm_create")
    await asyncio.gather(alice.press(label, menu["message_id"]), alice.press(label, menu["message_id"]))
    await alice.expect_key("create.created", name="db-server-1", status=strip_tags(alice.tr.t("status.creating")))
    answers = await alice.answered(2)
    assert second_tap_answers(alice.tr) & {a["text"] for a in answers}
    await asyncio.sleep(0.3)
    assert len(server_posts(sandbox)) == 1


async def test_back_and_cancel(alice, sandbox):
    await open_project(alice)
    await walk_to_summary(alice)
    await alice.press_key("btn.back")
    await alice.expect_menu_key("create.password")
    await alice.press_key("btn.back")
    await alice.expect_menu_key("create.hostname")
    await alice.press_key("btn.cancel")
    await alice.expect_key("common.cancelled")
    assert server_posts(sandbox) == []


async def test_sandbox_500_ends_in_a_message_and_a_retry(alice, sandbox):
    await connect(alice)
    sandbox.state.config.error_rate = 1.0  # every request answers 500, retries included
    await alice.say("/projects")
    msg = await alice.expect_key("error.server")
    retry = alice.label("btn.retry")
    assert any(b["text"] == retry for row in msg["buttons"] for b in row)
    await asyncio.sleep(1.0)
    await alice.press(retry, msg["message_id"])  # fails the same way: the screen says when
    again = await alice.control.wait_for(
        alice.chat_id, lambda ms: next((m for m in ms if m["message_id"] == msg["message_id"]
                                        and m["text"] != msg["text"]), None))
    assert alice.tr.plain("error.server") in again["text"]
    sandbox.state.config.error_rate = 0.0
    await alice.press(retry, msg["message_id"])
    await alice.expect_key("projects.empty")


async def test_create_failing_with_500_keeps_the_summary_and_can_be_confirmed_again(alice, sandbox):
    await open_project(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"  # the notifier's GETs must not take the fault
    sandbox.state.config.fail_next = 1
    await alice.press_key("btn.confirm_create")
    await alice.expect(alice.tr.plain("error.server"), strip_tags(alice.tr.t("create.summary")))
    assert len(server_posts(sandbox)) == 1, "a POST is never retried by the client"
    await alice.press_key("btn.confirm_create")
    await alice.expect_key("create.created", name="db-server-1", status=strip_tags(alice.tr.t("status.creating")))
    assert [r["status"] for r in server_posts(sandbox)] == [500, 200]


async def test_double_tap_on_confirm_when_the_first_fails_sends_one_request(alice, sandbox):
    """The first tap fails (500) and puts the summary back; the queued second tap was made
    on the old screen, so it must not send the order again."""
    await open_project(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.fail_next = 1
    menu = await alice.menu()
    label = alice.label("btn.confirm_create")
    await alice.press(label, menu["message_id"])
    await alice.press(label, menu["message_id"])
    answers = await alice.answered(2)
    assert answers[-1]["text"] in second_tap_answers(alice.tr)
    await alice.expect(alice.tr.plain("error.server"), strip_tags(alice.tr.t("create.summary")))
    await asyncio.sleep(0.3)
    assert [r["status"] for r in server_posts(sandbox)] == [500]


async def test_throttled_api_says_when_to_try_again(alice, sandbox):
    await connect(alice)
    sandbox.state.config.retry_after = 120  # beyond what the client waits for
    sandbox.state.config.throttle_next = 5
    await alice.say("/projects")
    await alice.expect(alice.tr.plain("error.throttled", seconds=120))


async def test_revoked_token_is_explained(alice, sandbox):
    await connect(alice)
    sandbox.state.config.tokens.pop(ALICE_TOKEN)
    await alice.say("/projects")
    await alice.expect_key("error.invalid_token")


async def test_root_password_only_in_private_behind_a_button(alice):
    await open_project(alice)
    await walk_to_summary(alice)
    await alice.press_key("btn.confirm_create")
    await alice.expect_key("create.created", name="db-server-1", status=strip_tags(alice.tr.t("status.creating")))
    await alice.press_key("btn.open_server")
    detail = await alice.expect("db-server-1", alice.tr.price(219000))
    assert alice.label("btn.show_password") in [b["text"] for row in detail["buttons"] for b in row]
    assert "S3cure-Passw0rd!" not in detail["text"]
    await alice.press_key("btn.show_password")
    (answer,) = await alice.answered(1)
    assert "S3cure-Passw0rd!" in answer["text"] and answer["show_alert"]
    assert not any("S3cure-Passw0rd!" in (m["text"] or "") for m in await alice.messages() if m["from_bot"])


async def test_a_slow_api_ends_in_a_time_out_message(settings, sandbox, control, lang):
    from bot.app import running_bot

    from .conftest import Person

    await control.create_user(1001, first_name="Alice", language_code=lang)
    alice = Person(control, 1001, "Alice", lang)
    async with running_bot(settings.with_(manageit_timeout=0.4)):
        await connect(alice)
        sandbox.state.config.latency = 0.6  # beyond the time-out
        await alice.say("/projects")
        msg = await alice.expect_key("error.timeout", timeout=15)
        sandbox.state.config.latency = 0
        await alice.press(alice.label("btn.retry"), msg["message_id"])
        await alice.expect_key("projects.empty")
        assert await control.errors() == []


async def test_cancel_command_stops_a_prompt(alice, sandbox):
    await open_project(alice)
    await walk_to_hostname(alice)
    await alice.say("/cancel")
    await alice.expect_key("common.cancelled")
    await alice.say("web-server-2")  # no longer taken as a hostname
    await alice.expect_key("hint.use_menu")
    await alice.say("/cancel")
    await alice.expect_key("common.nothing_to_cancel")


async def test_cancel_command_in_a_button_step(alice, sandbox):
    await open_project(alice)
    await alice.press_key("btn.servers")
    await alice.press_key("btn.new_server")
    await alice.expect_key("create.location")
    await alice.say("/cancel")
    await alice.expect_key("common.cancelled")
    live = [m for m in await alice.messages() if m["from_bot"] and not m["deleted"]]
    assert not any("پارسیان" in b["text"] for m in live for row in m["buttons"] or [] for b in row)


async def test_a_very_long_hostname_is_refused_in_place(alice):
    await open_project(alice)
    await walk_to_hostname(alice)
    await alice.say("h" * 3950)
    msg = await alice.expect(alice.tr.plain("create.hostname_long", max=100))
    assert len(msg["text"]) < 1000


async def test_refresh_with_nothing_changed_says_so(alice, sandbox, control):
    await open_project(alice)
    await walk_to_summary(alice)
    await alice.press_key("btn.confirm_create")
    await alice.expect_key("create.created", name="db-server-1", status=strip_tags(alice.tr.t("status.creating")))
    sandbox.state.settle()
    await alice.press_key("btn.open_server")
    await alice.expect("db-server-1", "2.189.")
    await alice.press_key("btn.refresh")
    answers = await alice.answered(1)
    assert answers[-1]["text"] == alice.tr.plain("callback.up_to_date")


async def test_a_long_root_password_is_shown_whole(alice, sandbox):
    await open_project(alice)
    await walk_to_hostname(alice)
    await alice.say("h" * 100)
    await alice.expect_key("create.password")
    password = "P" * 99 + "!"
    await alice.say(password)
    await alice.expect_key("create.summary")
    await alice.press_key("btn.confirm_create")
    await alice.press_key("btn.open_server")
    await alice.expect(alice.tr.price(219000))
    await alice.press_key("btn.show_password")
    (answer,) = await alice.answered(1)
    assert password in answer["text"] and answer["show_alert"]


async def test_logout_command_asks_first_and_unknown_commands_get_a_hint(alice, bot):
    await connect(alice)
    await alice.say("/logout")
    await alice.expect_key("account.logout_confirm")
    await alice.press_key("btn.cancel")
    await alice.expect("alice@example.com")
    async with bot.services.db.session() as session:
        assert await bot.services.credentials.get_for_owner(session, alice.user_id) is not None
    await alice.say("/frobnicate")
    await alice.expect_key("hint.unknown_command")


async def test_an_order_whose_answer_is_lost_is_found_not_repeated(alice, sandbox):
    """The POST is carried out but its answer comes after the client's time-out (5 s here):
    the bot looks for the new server instead of inviting a second order."""
    await open_project(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.latency_after = 6.0
    await alice.press_key("btn.confirm_create")
    await alice.expect("✅", "db-server-1", timeout=12)  # created (by now maybe already active)
    sandbox.state.config.latency_after = 0
    await asyncio.sleep(1.5)  # the late answer to the order is logged once it is sent
    assert len(server_posts(sandbox)) == 1
    assert len(list(sandbox.state.all_servers())) == 1
    # the notifier saw it become active while the answer was late: that is told once, if at all
    active = strip_tags(alice.tr.t("notify.server_status_ip", name="db-server-1", status=alice.tr.raw("status.active"),
                                   real_status="§", old_status="§", ip="§")).split("§")[0]
    notices = [m for m in await alice.messages() if m["from_bot"] and _norm(active) in _norm(m["text"] or "")]
    assert len(notices) <= 1


async def test_an_order_whose_answer_is_lost_and_cannot_be_checked_is_not_offered_again(alice, sandbox):
    await open_project(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.latency_after = 6.0

    async def fail_gets_after_the_post():
        while not list(sandbox.state.all_servers()):  # the order is taken; its answer is on its way
            await asyncio.sleep(0.05)
        sandbox.state.config.fault_method = "GET"
        sandbox.state.config.fail_next = 50  # every GET fails now, retries included
        sandbox.state.config.latency_after = 0

    task = asyncio.create_task(fail_gets_after_the_post())
    await alice.press_key("btn.confirm_create")
    screen = await alice.expect(strip_tags(alice.tr.t("create.outcome_unknown", hostname="db-server-1")), timeout=25)
    await task
    assert alice.label("btn.confirm_create") not in [b["text"] for row in screen["buttons"] for b in row]
    assert alice.label("btn.servers") in [b["text"] for row in screen["buttons"] for b in row]



async def newest_menu_with(person, label):
    """Wait until the newest menu (the screen a person acts on next) has a button `label`."""
    def find(messages):
        for m in reversed(messages):
            if m["from_bot"] and not m["deleted"] and m.get("buttons"):
                return m if label in labels(m) else None
        return None

    return await person.control.wait_for(person.chat_id, find)


async def test_cancel_on_the_delete_confirmation_deletes_nothing(alice, sandbox):
    tr = alice.tr
    async with ManageITAPI(sandbox.url) as api:
        client = api.client(ALICE_TOKEN)
        project = await client.projects.create("Production")
        server = await client.servers.create(project.hash, location=4, plan=40, os=18, hostname="web-01",
                                             password="Passw0rd!x")
    sandbox_server = sandbox.state.find_server(server.hash)
    sandbox.state.force_status(sandbox_server, "active", "started")  # at once: no notice comes in between
    item = alice.label("servers.item", name="web-01", status=status_text(tr, "active"))
    await connect(alice)
    await alice.say("/projects")
    await alice.expect_menu_key("projects.title", count=1)
    await alice.press_key("projects.item", name="Production", servers=1)
    await newest_menu_with(alice, alice.label("btn.load_balancers"))
    await alice.press_key("btn.servers")
    await alice.expect_menu_key("servers.title", project="Production", count=1)
    await alice.press(item)
    detail = await newest_menu_with(alice, alice.label("btn.delete"))
    assert "web-01" in detail["text"]
    await alice.press_key("btn.delete")
    confirm = await alice.expect_menu_key("server.delete_confirm", name="web-01", ip=sandbox_server.ips[0]["ip"])
    assert alice.label("btn.delete_yes") in labels(confirm)

    await alice.press_key("btn.cancel")
    back = await newest_menu_with(alice, alice.label("btn.delete"))  # the server's detail again
    assert back["message_id"] == confirm["message_id"] and "web-01" in back["text"]
    assert alice.label("btn.delete_yes") not in labels(back)
    assert strip_tags(tr.t("server.deleted", name="web-01")) not in back["text"]
    await alice.answered(1)
    await alice.press_key("btn.back")  # and the list still has it
    listed = await alice.expect_menu_key("servers.title", project="Production", count=1)
    assert item in labels(listed)

    assert sandbox.state.requests("DELETE") == [], "no DELETE reached ManageIT"
    async with ManageITAPI(sandbox.url) as api:
        assert [s.hash for s in await api.client(ALICE_TOKEN).servers.list(project.hash)] == [server.hash]


async def test_an_edited_old_message_is_not_taken_as_an_answer(alice, sandbox):
    """Editing an earlier message while a prompt is open must not answer the prompt (at the
    password step it would become the root password)."""
    await open_project(alice)
    await walk_to_hostname(alice)
    old = next(m for m in reversed(await alice.messages()) if not m["from_bot"] and m["text"] == "Production")
    await alice.control.edit(alice.chat_id, alice.user_id, old["message_id"], "edited-host-01")
    await asyncio.sleep(0.8)
    await alice.expect_menu_key("create.hostname")  # still asking: the edit answered nothing
    assert not any("edited-host-01" in (m["text"] or "") for m in await alice.messages() if m["from_bot"])
    await alice.say("real-host-01")  # the prompt still takes a new message
    await alice.expect_menu_key("create.password")


async def test_a_late_answer_does_not_repeat_the_active_notice(alice, sandbox):
    """The order's answer (saying "creating") comes after the server became active and the
    notifier told so: the bot must not record "creating" again, or "active" is told twice."""
    await open_project(alice)
    await walk_to_summary(alice)
    sandbox.state.config.fault_method = "POST"
    sandbox.state.config.latency_after = 2.0  # longer than creating→active, shorter than the time-out
    await alice.press_key("btn.confirm_create")
    await alice.expect("✅", "db-server-1", timeout=8)
    sandbox.state.config.latency_after = 0
    await asyncio.sleep(1.5)  # several notifier cycles
    active = strip_tags(alice.tr.t("notify.server_status_ip", name="db-server-1", status=alice.tr.raw("status.active"),
                                   real_status="§", old_status="§", ip="§")).split("§")[0]
    notices = [m for m in await alice.messages() if m["from_bot"] and _norm(active) in _norm(m["text"] or "")]
    assert len(notices) == 1


async def test_retry_after_a_failure_mid_wizard_keeps_the_choices(alice, sandbox):
    await open_project(alice)
    await walk_to_plan(alice)
    sandbox.state.config.error_rate = 1.0  # ManageIT fails every request now
    await alice.press_match("GH-1")
    await alice.expect_menu_key("error.server")
    sandbox.state.config.error_rate = 0.0
    await alice.press_key("btn.retry")
    await alice.expect_menu_key("create.plan", location="پارسیان")  # the same step, the location kept
    await alice.press_match("GH-1")
    await alice.expect_menu_key("create.os")
