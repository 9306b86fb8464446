"""The status watcher: notices once per change, across restarts; 401 told once; 429 respected."""
from __future__ import annotations

import asyncio

import aiohttp

from bot.app import running_bot
from bot.i18n import strip_tags
from bot.manageit.client import ManageITAPI

from .conftest import ALICE_TOKEN, POLL, Person, connect


def notices(messages, name):
    return [m for m in messages if m["from_bot"] and "🔔" in (m["text"] or "") and name in (m["text"] or "")]


async def make_server(sandbox, hostname="api-node-1"):
    async with ManageITAPI(sandbox.url) as api:
        client = api.client(ALICE_TOKEN)
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


async def test_a_token_that_stops_working_is_told_once(alice, sandbox, bot, no_refusals):
    await connect(alice)
    await make_server(sandbox)
    await asyncio.sleep(POLL * 2)
    sandbox.state.config.tokens.pop(ALICE_TOKEN)
    await alice.expect_key("notify.token_invalid", timeout=10)
    await asyncio.sleep(POLL * 6)
    told = [m for m in await alice.messages() if m["from_bot"] and m["text"] == strip_tags(alice.tr.t("notify.token_invalid"))]
    assert len(told) == 1


async def test_throttling_is_respected(alice, sandbox, bot):
    await connect(alice)
    await asyncio.sleep(POLL * 2)
    sandbox.state.config.retry_after = 3
    sandbox.state.config.throttle_next = 1
    await asyncio.sleep(POLL * 4)
    calls_before = len(sandbox.state.requests("GET", "/api/v1/projects"))
    await asyncio.sleep(1.5)  # still inside the 3 s the API asked for
    assert len(sandbox.state.requests("GET", "/api/v1/projects")) == calls_before
    await asyncio.sleep(2.5)
    assert len(sandbox.state.requests("GET", "/api/v1/projects")) > calls_before
