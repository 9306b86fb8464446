"""The group "Ops team" in the chat page: several users, one person switching between them."""
from __future__ import annotations

from bot.sandbox.demo import DEMO_BOT_USERNAME, DEMO_GROUP_ID, DEMO_USERS

from .chat import ChatPage

REZA, SARA = DEMO_USERS[1], DEMO_USERS[2]  # both Persian


def test_a_member_presses_another_members_menu_and_sees_an_alert(page, demo, tmp_path):
    chat = ChatPage(page, demo.url, REZA.id, "fa").open(DEMO_GROUP_ID)
    assert page.locator("#chat-title").inner_text() == "Ops team"

    # Privacy mode: plain talk in the group is not delivered to the bot, and the page says so.
    chat.say("سلام به همه")
    page.wait_for_selector(".msg.out .not-delivered")

    chat.say(f"/menu@{DEMO_BOT_USERNAME}")
    menu = chat.expect_key("menu.not_connected")
    menu_id = menu.get_attribute("data-id")
    assert menu.locator(".text").get_attribute("dir") == "rtl"

    # The same page, now acting as Sara: the group stays open, Reza's messages are "theirs".
    chat.act_as(SARA.id, "fa")
    page.wait_for_selector(f'.chat-item.active[data-chat-id="{DEMO_GROUP_ID}"]')
    reza_message = page.locator(".msg.in:not(.from-bot)").last
    assert reza_message.locator(".sender").inner_text().startswith(REZA.first_name)

    # Sara presses a button on Reza's menu: the bot answers with an alert, the menu stays.
    before = page.locator(f'.msg[data-id="{menu_id}"] .text').inner_text()
    chat.press_key("btn.help")
    alert = page.locator("#alert")
    alert.wait_for(state="visible")
    assert page.locator("#alert-text").inner_text() == chat.tr.plain("callback.not_yours")
    assert page.locator("#alert-text").get_attribute("dir") == "rtl"
    page.click("#alert-ok")
    alert.wait_for(state="hidden")
    assert page.locator(f'.msg[data-id="{menu_id}"] .text').inner_text() == before
