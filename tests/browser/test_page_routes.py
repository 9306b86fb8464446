"""The emulator's routes for the chat page (no browser needed): the page and its files, the
page's facts, and the event stream that tells it about new, edited and deleted messages."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import aiohttp
import pytest

from bot.sandbox.demo import DEMO_GROUP_ID, DEMO_USERS, demo_emulator_config, seed_emulator
from bot.sandbox.telegram import start_emulator


@pytest.fixture
async def emulator():
    emu = await start_emulator(config=demo_emulator_config())
    seed_emulator(emu.state, delay=1.0, sandbox_url="http://127.0.0.1:1")
    yield emu
    await emu.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def bot_call(http, emulator, method: str, **params) -> dict:
    async with http.post(f"{emulator.bot_base_url}{emulator.config.bot_token}/{method}", json=params) as r:
        body = await r.json()
    assert body["ok"], body
    return body["result"]


async def test_the_page_and_its_files_are_served_with_a_strict_policy(emulator, http):
    for path, kind in (("/", "text/html"), ("/chat/", "text/html"), ("/chat/style.css", "text/css"),
                       ("/chat/app.js", "text/javascript")):
        async with http.get(emulator.url + path) as r:
            assert r.status == 200, path
            assert r.content_type == kind
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
            body = await r.text()
            assert body.strip()
    async with http.get(emulator.url + "/") as r:
        html = await r.text()
    assert "/chat/app.js" in html and "/chat/style.css" in html
    assert "http://" not in html and "https://" not in html, "no resource from elsewhere"
    for path in ("/chat/nope.js", "/chat/..%2Ftelegram.py", "/chat/%2e%2e/telegram.py"):
        async with http.get(emulator.url + path) as r:
            assert r.status == 404, path


async def test_another_site_cannot_act_through_the_control_api(emulator, http):
    alice = DEMO_USERS[0].id
    body = '{"chat_id": %d, "user_id": %d, "text": "/token evil"}' % (alice, alice)
    async with http.post(emulator.url + "/control/send", data=body,
                         headers={"Origin": "https://evil.example", "Content-Type": "text/plain"}) as r:
        assert r.status == 403
    assert emulator.state.transcript(alice) == []
    async with http.post(emulator.url + "/control/send", data=body,
                         headers={"Origin": emulator.url, "Content-Type": "application/json"}) as r:
        assert r.status == 200, "the chat page itself (same origin) may"


async def test_page_facts_and_the_seeded_directory(emulator, http):
    async with http.get(emulator.url + "/control/page") as r:
        page = await r.json()
    assert page["bot"]["username"] == emulator.config.bot_username
    assert page["bot"]["first_name"] == emulator.config.bot_first_name
    assert page["info"]["tokens"][0]["token"] == "demo-token"
    async with http.get(emulator.url + "/control/users") as r:
        users = {u["id"]: u for u in await r.json()}
    assert {u.id for u in DEMO_USERS} <= set(users)
    assert {users[u.id]["language_code"] for u in DEMO_USERS} == {"en", "fa"}
    async with http.get(emulator.url + "/control/chats") as r:
        chats = {c["id"]: c for c in await r.json()}
    group = chats[DEMO_GROUP_ID]
    assert group["title"] == "Ops team" and group["bot_is_admin"]
    assert sorted(group["members"]) == sorted(u.id for u in DEMO_USERS)
    assert all(u.id in chats for u in DEMO_USERS), "a private chat per user"


async def test_long_poll_reports_messages_edits_deletions_and_answers(emulator, http):
    alice = DEMO_USERS[0].id
    async with http.get(emulator.url + "/control/events") as r:
        start = (await r.json())["last_id"]

    async def poll(after: int, timeout: float = 2) -> dict:
        async with http.get(f"{emulator.url}/control/events?after={after}&timeout={timeout}") as r:
            return await r.json()

    waiting = asyncio.create_task(poll(start))
    await asyncio.sleep(0.1)
    assert not waiting.done(), "a long poll waits for the next event"
    async with http.post(emulator.url + "/control/send", json={"chat_id": alice, "user_id": alice, "text": "hi"}) as r:
        assert r.status == 200
    first = await asyncio.wait_for(waiting, 3)
    assert [e["type"] for e in first["events"]] == ["message"]
    assert first["events"][0]["message"]["text"] == "hi"

    sent = await bot_call(http, emulator, "sendMessage", chat_id=alice, text="<b>menu</b>", parse_mode="HTML",
                          reply_markup={"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]})
    await bot_call(http, emulator, "editMessageText", chat_id=alice, message_id=sent["message_id"], text="menu 2")
    async with http.post(emulator.url + "/control/press", json={"chat_id": alice, "user_id": alice, "label": "Go"}) as r:
        # the edit removed the keyboard: nothing to press
        assert r.status == 404
    sent2 = await bot_call(http, emulator, "sendMessage", chat_id=alice, text="pick",
                           reply_markup={"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]})
    async with http.post(emulator.url + "/control/press", json={"chat_id": alice, "user_id": alice, "label": "Go"}) as r:
        query_id = (await r.json())["callback_query_id"]
    await bot_call(http, emulator, "answerCallbackQuery", callback_query_id=query_id, text="Done", show_alert=True)
    await bot_call(http, emulator, "deleteMessage", chat_id=alice, message_id=sent2["message_id"])
    await bot_call(http, emulator, "sendChatAction", chat_id=alice, action="typing")

    events = (await poll(first["last_id"], 0))["events"]
    kinds = [e["type"] for e in events]
    assert kinds == ["message", "edited", "message", "callback_query", "callback_answer", "deleted", "chat_action"]
    assert events[1]["message"]["text"] == "menu 2" and events[1]["message"]["edited"]
    assert events[4]["query"]["text"] == "Done" and events[4]["query"]["show_alert"]
    assert events[5]["message"]["deleted"]
    assert all(e["chat_id"] == alice for e in events)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_event_stream_says_hello_then_pushes_and_resumes_after_last_event_id(emulator, http):
    alice = DEMO_USERS[0].id

    async def read_events(response, count: int) -> list[dict]:
        events = []
        while len(events) < count:
            line = (await asyncio.wait_for(response.content.readline(), 3)).decode()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
        return events

    async with http.get(emulator.url + "/control/events", headers={"Accept": "text/event-stream"}) as r:
        assert r.status == 200 and r.content_type == "text/event-stream"
        [hello] = await read_events(r, 1)
        assert hello["type"] == "hello"
        await bot_call(http, emulator, "sendMessage", chat_id=alice, text="ping")
        [pushed] = await read_events(r, 1)
        assert pushed["type"] == "message" and pushed["message"]["text"] == "ping"
        seen = pushed["id"]

    # Missed while away: a reconnecting EventSource sends Last-Event-ID and gets them.
    await bot_call(http, emulator, "sendMessage", chat_id=alice, text="while away")
    async with http.get(emulator.url + "/control/events?stream=1", headers={"Last-Event-ID": str(seen)}) as r:
        events = await read_events(r, 2)
    assert [e["type"] for e in events] == ["hello", "message"]
    assert events[1]["message"]["text"] == "while away" and events[1]["id"] == seen + 1


async def test_event_stream_ends_when_the_emulator_stops():
    emu = await start_emulator(config=demo_emulator_config())
    async with aiohttp.ClientSession() as http:
        async with http.get(emu.url + "/control/events?stream=1") as r:
            await asyncio.wait_for(r.content.readline(), 3)
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(emu.close(), 5)
            assert asyncio.get_running_loop().time() - started < 3, "an open stream does not hold up the stop"


def test_demo_help_explains_the_local_chat_page():
    out = subprocess.run([sys.executable, "-m", "bot", "demo", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(out.stdout.split())
    for fragment in ("TELEGRAM_BOT_TOKEN", "chat page", "--port", "--delay", "--no-browser", "--local", "demo-token"):
        assert fragment in text, fragment
