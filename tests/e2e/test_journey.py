"""The whole journey, in English and in Persian: token → project → server → notice →
details → delete."""
from __future__ import annotations

from bot.i18n import strip_tags

from .conftest import ALICE_TOKEN, connect, labels


async def test_full_journey(alice, sandbox, control):
    tr = alice.tr
    await alice.say("/start")
    await alice.expect_key("menu.not_connected")

    # The token: the message that carries it is deleted, the account is named.
    await alice.say("/token")
    await alice.expect_key("token.prompt")
    sent = await alice.say(ALICE_TOKEN)
    await alice.expect("Alice Admin", "alice@example.com")
    mine = next(m for m in await alice.messages() if m["message_id"] == sent["message_id"])
    assert mine["deleted"], "the token message must be deleted"
    assert not any(ALICE_TOKEN in (m["text"] or "") for m in await alice.messages() if m["from_bot"])

    # A project.
    await alice.say("/projects")
    await alice.expect_key("projects.empty")
    await alice.press_key("btn.new_project")
    await alice.expect_key("project.new_prompt")
    await alice.say("Production")
    await alice.expect_key("project.created", name="Production")

    # A server, through every step.
    await alice.press_key("btn.servers")
    await alice.expect_key("servers.empty", project="Production")
    await alice.press_key("btn.new_server")
    await alice.expect_key("create.location")
    await alice.press("پارسیان")
    await alice.expect_key("create.plan", location="پارسیان")
    await alice.press_match("GH-1")
    await alice.expect_key("create.os")
    menu = await alice.menu()
    assert "Ubuntu" in labels(menu)
    await alice.press("Ubuntu")
    await alice.expect_key("create.version", os="Ubuntu")
    assert "Ubuntu 16.04" not in labels(await alice.menu()), "hidden versions are left out"
    await alice.press("Ubuntu 22.04")
    await alice.expect_key("create.hostname")
    await alice.say("web-01")
    await alice.expect_key("create.password")
    await alice.press_key("btn.generate_password")
    summary = await alice.expect_key("create.summary")
    assert "web-01" in summary["text"]
    assert tr.price(219000) in summary["text"].replace("\u2068", "").replace("\u2069", "")
    pw_message = await alice.expect(strip_tags(tr.t("create.generated_password", password="X")).split("\n")[0])
    assert "tg-spoiler" in pw_message["html"]
    await alice.press_key("btn.confirm_create")
    await alice.expect_key("create.created", name="web-01", status=strip_tags(tr.t("status.creating")))
    gone = next(m for m in await alice.messages() if m["message_id"] == pw_message["message_id"])
    assert gone["deleted"], "the generated password message is removed once the server is ordered"

    # The notifier tells her when it is active.
    notice = await alice.expect(strip_tags(tr.t("notify.server_status", name="web-01", status=tr.raw("status.active"),
                                                real_status=tr.raw("status.started"))).rstrip(".").split("(")[0].strip(),
                                timeout=10)
    assert "2.189." in notice["text"]

    # Details: status, IPs, specs, price.
    await alice.press_key("btn.open_server")
    detail = await alice.expect("web-01", "2.189.", tr.price(219000))
    text = detail["text"].replace("\u2068", "").replace("\u2069", "")
    assert tr.raw("status.active") in text
    assert tr.price(219000) in text and tr.price(305) in text
    assert tr.gigabytes(25) in text

    # Delete, after confirming.
    await alice.press_key("btn.delete")
    await alice.expect(strip_tags(tr.t("server.delete_confirm", name="web-01", ip="x")).split("(")[0].strip())
    await alice.press_key("btn.delete_yes")
    await alice.expect_key("server.deleted", name="web-01")
    deletes = [r for r in sandbox.state.requests("DELETE") if "/servers/" in r["path"]]
    assert len(deletes) == 1 and deletes[0]["status"] == 200
