"""Tokens: checked before saving, deleted from the chat, never stored or logged in clear."""
from __future__ import annotations

import asyncio
import logging

from .conftest import ALICE_TOKEN, BAD_TOKEN, connect


async def test_wrong_token_is_refused_and_nothing_is_saved(alice, bot):
    await alice.say("/token")
    await alice.expect_key("token.prompt")
    sent = await alice.say(BAD_TOKEN)
    await alice.expect(alice.tr.plain("token.invalid"))
    assert next(m for m in await alice.messages() if m["message_id"] == sent["message_id"])["deleted"]
    async with bot.services.db.session() as session:
        assert await bot.services.credentials.get_for_owner(session, alice.user_id) is None
    # Still waiting for a good one: the next message is taken as the token.
    await alice.say(ALICE_TOKEN)
    await alice.expect("Alice Admin")


async def test_token_as_command_argument_is_deleted_at_once(alice, bot, settings):
    sent = await alice.say(f"/token {ALICE_TOKEN}")
    await alice.expect("Alice Admin")
    assert next(m for m in await alice.messages() if m["message_id"] == sent["message_id"])["deleted"]
    # Encrypted at rest: the token's bytes are nowhere in the database files.
    async with bot.services.db.engine.begin() as conn:
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
    for path in settings.data_dir.glob("bot.sqlite3*"):
        assert ALICE_TOKEN.encode() not in path.read_bytes(), path


async def test_token_and_bot_token_never_logged(alice, bot, settings, caplog):
    with caplog.at_level(logging.DEBUG):
        await connect(alice)
        await alice.say("/projects")
        await alice.expect_key("projects.empty")
    assert caplog.records, "the bot logs at DEBUG"
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert ALICE_TOKEN not in text
    assert settings.telegram_bot_token not in text


async def test_logout_forgets_the_token(alice, bot):
    await connect(alice)
    await alice.say("/logout")
    await alice.expect_key("account.logout_confirm")
    await alice.press_key("btn.logout_yes")
    await alice.expect_key("account.logged_out")
    await alice.say("/projects")
    await alice.expect_key("error.no_token")


async def test_account_shows_no_secret(alice, bot):
    await connect(alice)
    await alice.say("/account")
    msg = await alice.expect("alice@example.com")
    assert ALICE_TOKEN not in msg["text"] and ALICE_TOKEN[:8] not in msg["text"]


async def test_menus_opened_with_the_old_account_expire_when_the_token_changes(alice, sandbox):
    from .conftest import BOB_TOKEN, connect

    await connect(alice)
    await alice.say("/projects")
    old = await alice.expect_key("projects.empty")
    await connect(alice, BOB_TOKEN)  # another account now
    await asyncio.sleep(0.3)  # a person reads the answer before tapping on
    await alice.press(alice.label("btn.new_project"), old["message_id"])
    assert (await alice.answered())[-1]["text"] == alice.tr.plain("callback.expired")
    await alice.say("/logout")
    await alice.press_key("btn.logout_yes")
    await alice.expect_key("account.logged_out")
