"""Group chats: tokens never set there, menus answer only their owner, forged data is harmless."""
from __future__ import annotations

import pytest

from .conftest import ALICE_TOKEN, connect

GROUP = -100123


@pytest.fixture
async def group(control, alice, bob):
    await control.create_chat(GROUP, type="supergroup", title="Ops team", members=[alice.user_id, bob.user_id], bot_is_admin=True)
    return GROUP


async def test_token_in_a_group_is_deleted_and_refused(alice, group, bot):
    a = alice.in_chat(group)
    sent = await a.say(f"/token {ALICE_TOKEN}")
    await a.expect(alice.tr.plain("token.group_refused")[:30])
    assert next(m for m in await a.messages() if m["message_id"] == sent["message_id"])["deleted"]
    async with bot.services.db.session() as session:
        assert await bot.services.credentials.get_for_owner(session, alice.user_id) is None


async def test_a_button_pressed_by_another_member_is_refused(alice, bob, group, control, no_refusals):
    await connect(alice)
    a, b = alice.in_chat(group), bob.in_chat(group)
    await a.say("/projects@manageit_test_bot")
    menu = await a.expect_key("projects.empty")
    await b.press_key("btn.new_project")
    answers = await b.answered()
    assert answers[-1]["text"] == bob.tr.plain("callback.not_yours")
    assert answers[-1]["show_alert"]
    after = next(m for m in await a.messages() if m["message_id"] == menu["message_id"])
    assert after["text"] == menu["text"], "the owner's menu did not change"


async def test_random_callback_data_gets_a_short_answer(alice, control, no_refusals):
    await alice.say("/start")
    menu = await alice.menu()
    for data in ("garbage", "abcdef:srv.delok:x", "zzzzzz:main:", "a" * 64):
        await alice.press_data(data, message_id=menu["message_id"])
    answers = await alice.answered(4)
    texts = [a["text"] for a in answers]
    assert len(texts) == 4
    assert set(texts) <= {alice.tr.plain("callback.invalid"), alice.tr.plain("callback.expired")}
    bot_texts = [m["text"] for m in await alice.messages() if m["from_bot"]]
    assert not any("Traceback" in t or "error" in t.lower() for t in bot_texts if t)
