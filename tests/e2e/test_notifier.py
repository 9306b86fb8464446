"""The status watcher: notices once per change, across restarts; 401 told once; 429 respected;
a failed send is retried; a chat that blocked the bot is left alone until it writes again."""
from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from bot.app import running_bot
from bot.i18n import strip_tags
from bot.manageit.client import ManageITAPI

from .conftest import ALICE_TOKEN, BOB_TOKEN, POLL, TRANSITION, Person, connect


def notices(messages, name):
    return [m for m in messages if m["from_bot"] and "🔔" in (m["text"] or "") and name in (m["text"] or "")]


async def make_server(sandbox, hostname="api-node-1", token=ALICE_TOKEN):
    async with ManageITAPI(sandbox.url) as api:
        client = api.client(token)
        project = await client.projects.create("Watched")
        server = await client.servers.create(project.hash, location=4, plan=40, os=18, hostname=hostname, password="Passw0rd!x")
        return project.hash, server.hash


async def test_a_restart_neither_repeats_nor_misses_a_notice(settings, sandbox, control, lang):
    await control.create_user(1001, first_name="Alice", language_code=lang)
    alice = Person(control, 1001, "Alice", lang)
    tr = alice.tr
    async with running_bot(settings):
        await connect(alice)
        _, server_hash = await make_server(sandbox)
        # First sight is silent; the change to active is told once.
        await alice.expect(tr.raw("status.active"), "api-node-1", timeout=10)
        await asyncio.sleep(POLL * 4)
        assert len(notices(await alice.messages(), "api-node-1")) == 1

    # While the bot is down the server stops.
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.url}/_sandbox/servers/{server_hash}/status",
                             json={"status": "suspended", "real_status": "stopped"}) as resp:
            assert resp.status == 200

    async with running_bot(settings):
        await alice.expect(tr.raw("status.suspended"), "api-node-1", timeout=10)
        await asyncio.sleep(POLL * 4)
    found = notices(await alice.messages(), "api-node-1")
    assert len(found) == 2, [m["text"] for m in found]
    assert tr.raw("status.active") in found[0]["text"] and tr.raw("status.suspended") in found[1]["text"]


async def test_a_token_that_stops_working_is_told_once(alice, sandbox, bot):
    await connect(alice)
    await make_server(sandbox)
    await asyncio.sleep(POLL * 2)
    sandbox.state.config.tokens.pop(ALICE_TOKEN)
    await alice.expect_key("notify.token_invalid", timeout=10)
    await asyncio.sleep(POLL * 6)
    told = [m for m in await alice.messages() if m["from_bot"] and m["text"] == strip_tags(alice.tr.t("notify.token_invalid"))]
    assert len(told) == 1


async def set_server_status(sandbox, server_hash, status, real_status):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.url}/_sandbox/servers/{server_hash}/status",
                             json={"status": status, "real_status": real_status}) as resp:
            assert resp.status == 200


async def sends_to(control, chat_id):
    """Every sendMessage the bot attempted in this chat, refused ones included."""
    return [c for c in await control.calls() if c["method"] == "sendMessage" and c["chat_id"] == chat_id]


@pytest.mark.refusals_expected("sendMessage")
async def test_a_notice_that_fails_to_send_is_sent_on_a_later_cycle(alice, sandbox, control):
    await connect(alice)
    await asyncio.sleep(POLL * 2)
    await control.config(fail_next=1, fail_method="sendMessage", fail_status=500)  # Telegram has a bad moment
    await make_server(sandbox)
    await alice.expect(alice.tr.raw("status.active"), "api-node-1", timeout=10)
    await asyncio.sleep(POLL * 4)
    assert len(notices(await alice.messages(), "api-node-1")) == 1
    refused = [(e["method"], e["chat_id"], e["error_code"]) for e in await control.errors()]
    assert refused == [("sendMessage", 1001, 500)]  # the first try did fail; the notice came on a later cycle


@pytest.mark.refusals_expected("sendMessage")
async def test_a_chat_that_blocked_the_bot_is_left_alone_until_it_writes_again(settings, sandbox, control, lang):
    await control.create_user(1001, first_name="Alice", language_code=lang)
    alice = Person(control, 1001, "Alice", lang)
    tr = alice.tr
    async with running_bot(settings):
        await connect(alice)
        _, server_hash = await make_server(sandbox)
        await alice.expect(tr.raw("status.active"), "api-node-1", timeout=10)
        await control.block(1001)
        await set_server_status(sandbox, server_hash, "suspended", "stopped")
        deadline = time.monotonic() + 5
        while not [e for e in await control.errors() if e["error_code"] == 403]:
            assert time.monotonic() < deadline, "the notifier never tried to tell the change"
            await asyncio.sleep(0.05)
        tried = len(await sends_to(control, 1001))
        # Later changes are not even tried while the chat refuses the bot...
        await set_server_status(sandbox, server_hash, "active", "running")
        await asyncio.sleep(POLL * 6)
        assert len(await sends_to(control, 1001)) == tried

    async with running_bot(settings):  # ...and the mark outlives a restart
        await asyncio.sleep(POLL * 6)
        assert len(await sends_to(control, 1001)) == tried
        await alice.say("/start")  # she unblocks the bot and writes to it
        await asyncio.sleep(POLL * 4)
    found = notices(await alice.messages(), "api-node-1")
    assert len(found) == 2, [m["text"] for m in found]  # what changed meanwhile is told once
    assert all(tr.raw("status.active") in m["text"] for m in found)
    assert [e["error_code"] for e in await control.errors()] == [403]


async def _two_owners_one_throttled(settings, sandbox, control, lang, retry_after):
    """Alice and Bob each have a server that has just become active since the last
    cycle; the next cycle's first request for Alice meets a 429. Cycles are run by
    hand (the job's interval is an hour) so that "the same cycle" is exact."""
    manual = dataclasses.replace(settings, status_poll_seconds=3600)
    await control.create_user(1001, first_name="Alice", language_code=lang)
    await control.create_user(1002, first_name="Bob", language_code=lang)
    alice = Person(control, 1001, "Alice", lang)
    bob = Person(control, 1002, "Bob", lang)
    app_cm = running_bot(manual)
    app = await app_cm.__aenter__()
    await connect(alice, ALICE_TOKEN)
    await connect(bob, BOB_TOKEN)
    await make_server(sandbox, "alice-web", ALICE_TOKEN)
    await make_server(sandbox, "bob-web", BOB_TOKEN)
    assert await app.notifier.run_cycle(app.bot) == 0  # first sight: recorded silently
    await asyncio.sleep(TRANSITION + 0.3)
    cfg = sandbox.state.config
    cfg.fault_token = ALICE_TOKEN  # the 429 is Alice's alone
    cfg.retry_after = retry_after
    cfg.throttle_next = 1
    return app_cm, app, alice, bob


async def test_a_short_429_is_not_slept_on_and_holds_up_no_other_owner(settings, sandbox, control, lang):
    app_cm, app, alice, bob = await _two_owners_one_throttled(settings, sandbox, control, lang, retry_after=2)
    try:
        started = time.monotonic()
        assert await app.notifier.run_cycle(app.bot) == 1
        took = time.monotonic() - started
        assert [r["user_id"] for r in sandbox.state.requests() if r["status"] == 429] == [1]
        assert len(notices(await bob.messages(), "bob-web")) == 1  # Bob is told in the same cycle
        assert notices(await alice.messages(), "alice-web") == []
        assert took < 1.5, f"the cycle waited {took:.1f} s"  # the 2 s Retry-After was not slept on
        asked = len(sandbox.state.requests(user_id=1))
        assert await app.notifier.run_cycle(app.bot) == 0  # still inside the 2 s: Alice is not asked
        assert len(sandbox.state.requests(user_id=1)) == asked
        await asyncio.sleep(2.2 - (time.monotonic() - started))
        assert await app.notifier.run_cycle(app.bot) == 1  # after throttled_until: asked and told
        assert len(sandbox.state.requests(user_id=1)) > asked
        assert len(notices(await alice.messages(), "alice-web")) == 1
        assert len(notices(await bob.messages(), "bob-web")) == 1
    finally:
        await app_cm.__aexit__(None, None, None)


async def test_a_long_429_leaves_the_account_alone_and_the_others_go_on(settings, sandbox, control, lang):
    app_cm, app, alice, bob = await _two_owners_one_throttled(settings, sandbox, control, lang, retry_after=60)
    try:
        assert await app.notifier.run_cycle(app.bot) == 1
        assert len(notices(await bob.messages(), "bob-web")) == 1
        asked = len(sandbox.state.requests(user_id=1))
        bob_asked = len(sandbox.state.requests(user_id=2))
        for _ in range(3):
            await app.notifier.run_cycle(app.bot)
        assert len(sandbox.state.requests(user_id=1)) == asked  # not one call for Alice
        assert len(sandbox.state.requests(user_id=2)) > bob_asked  # Bob is still watched
        assert notices(await alice.messages(), "alice-web") == []
        async with app.services.db.session() as session:
            cred = await app.services.credentials.get_for_owner(session, 1001)
        until = cred.throttled_until - datetime.now(timezone.utc)
        assert timedelta(seconds=55) < until <= timedelta(seconds=60)
    finally:
        await app_cm.__aexit__(None, None, None)
