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


async def test_a_button_pressed_by_another_member_is_refused(alice, bob, group, control):
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


async def test_random_callback_data_gets_a_short_answer(alice, control):
    await alice.say("/start")
    menu = await alice.menu()
    texts = []
    for data in ("garbage", "abcdef:srv.delok:x", "abcdef:0:srv.delok:x", "zzzzzz:0:main:", "a" * 64):
        await alice.press_data(data, message_id=menu["message_id"])
        texts.append((await alice.answered(1))[-1]["text"])
    assert len(texts) == 5
    assert set(texts) <= {alice.tr.plain("callback.invalid"), alice.tr.plain("callback.expired")}
    bot_texts = [m["text"] for m in await alice.messages() if m["from_bot"]]
    assert not any("Traceback" in t or "error" in t.lower() for t in bot_texts if t)


@pytest.mark.refusals_expected("deleteMessage")
async def test_token_in_a_group_where_the_bot_cannot_delete_says_so(alice, bob, control, bot):
    await control.create_chat(-100124, type="supergroup", title="No rights", members=[alice.user_id, bob.user_id],
                              bot_is_admin=False)
    a = alice.in_chat(-100124)
    sent = await a.say(f"/token {ALICE_TOKEN}")
    warning = await a.expect(alice.tr.plain("token.not_deleted")[:40])
    assert alice.tr.plain("token.deleted_in_group")[:20] not in warning["text"]
    assert not next(m for m in await a.messages() if m["message_id"] == sent["message_id"])["deleted"]
    async with bot.services.db.session() as session:
        assert await bot.services.credentials.get_for_owner(session, alice.user_id) is None
    assert [e["method"] for e in await control.errors()] == ["deleteMessage"]  # the one refusal: no rights


async def test_token_pasted_at_a_name_prompt_is_deleted_not_used(alice, sandbox, bot):
    """A token pasted where a project name is asked must not become the name, be echoed
    back, or land in the audit log."""
    token = "77|Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0h"
    await connect(alice)
    await alice.say("/projects")
    await alice.expect_key("projects.empty")
    await alice.press_key("btn.new_project")
    await alice.expect_key("project.new_prompt")
    sent = await alice.say(token)
    await alice.expect(alice.tr.plain("token.use_command")[:30])
    messages = await alice.messages()
    assert next(m for m in messages if m["message_id"] == sent["message_id"])["deleted"]
    assert not any(token[:12] in (m["text"] or "") for m in messages if m["from_bot"])
    assert not [r for r in sandbox.state.requests("POST") if r["path"].endswith("/projects")]
    await alice.say("Production")  # the prompt is still open
    await alice.expect_key("project.created", name="Production")
    async with bot.services.db.session() as session:
        from sqlalchemy import text as sql

        rows = (await session.execute(sql("SELECT * FROM audit_log"))).all()
    assert rows and not any(token[:12] in repr(row) for row in rows)


async def test_a_reply_to_someone_elses_prompt_is_answered_not_ignored(alice, bob, group, sandbox):
    from bot.i18n import Html, strip_tags

    from .conftest import _norm

    await connect(alice)
    a, b = alice.in_chat(group), bob.in_chat(group)
    await a.say("/projects@manageit_test_bot")
    await a.expect_key("projects.empty")
    await a.press_key("btn.new_project")
    prompt = await a.expect(_norm(strip_tags(alice.tr.t("common.reply_here", user=Html("Alice")))))
    await b.say("Bob's project", reply_to=prompt["message_id"])
    await b.expect(_norm(strip_tags(bob.tr.t("hint.not_your_prompt", user=Html("Bob")))))
    assert not [r for r in sandbox.state.requests("POST") if r["path"].endswith("/projects")]
    await a.say("Team project", reply_to=prompt["message_id"])  # Alice's own answer still counts
    await a.expect_key("project.created", name="Team project")
