"""One user's slow API call never holds up another user."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from bot.manageit.client import ManageITAPI

from .conftest import ALICE_TOKEN, BOB_TOKEN, connect, labels


async def test_a_second_user_is_answered_while_the_first_waits(alice, bob, sandbox):
    await connect(alice, ALICE_TOKEN)
    await connect(bob, BOB_TOKEN)
    sandbox.state.config.latency_by_token = {ALICE_TOKEN: 4.0}
    started = time.monotonic()
    await alice.say("/projects")  # Alice's API call now takes 4 s
    await bob.say("/projects")
    await bob.expect_key("projects.empty", timeout=3)
    bob_took = time.monotonic() - started
    await alice.expect_key("projects.empty", timeout=8)
    alice_took = time.monotonic() - started
    assert bob_took < 2.0, f"Bob waited {bob_took:.1f} s behind Alice"
    assert alice_took >= 4.0


async def test_one_users_updates_are_handled_in_order(alice, sandbox):
    await connect(alice, ALICE_TOKEN)
    sandbox.state.config.latency_by_token = {ALICE_TOKEN: 0.5}
    await alice.say("/projects")
    await alice.say("/help")  # must not overtake the slow /projects
    await alice.expect_key("help.text")
    bot_messages = [m for m in await alice.messages() if m["from_bot"] and not m["deleted"]]
    texts = [m["text"] for m in bot_messages[-2:]]
    assert alice.tr.plain("projects.empty") in texts[0]


async def test_a_press_while_the_last_one_is_still_working_is_answered_at_once(alice, sandbox):
    async with ManageITAPI(sandbox.url) as api:
        project = await api.client(ALICE_TOKEN).projects.create("Production")
    opened = lambda: [r for r in sandbox.state.requests("GET") if r["path"].endswith(f"/projects/{project.hash}")]  # noqa: E731
    await connect(alice, ALICE_TOKEN)
    await alice.say("/projects")
    await alice.expect_key("projects.title", count=1)
    menu = await alice.menu()
    label = next(label for label in labels(menu) if "Production" in label)
    sandbox.state.config.latency_by_token = {ALICE_TOKEN: 3.0}
    started = time.monotonic()
    await alice.press(label, menu["message_id"])  # opening the project takes 3 s now
    await asyncio.sleep(0.3)
    await alice.press(label, menu["message_id"])
    second = None
    while time.monotonic() - started < 2.5 and second is None:
        answers = await alice.answers()
        if len(answers) >= 2 and answers[-1]["answered"]:
            second = answers[-1]
        await asyncio.sleep(0.05)
    assert second is not None, "the second press waited behind the first"
    assert second["text"] == alice.tr.plain("callback.busy")
    servers = alice.label("btn.servers")
    await alice.control.wait_for(alice.chat_id, lambda ms: any(servers in labels(m) for m in ms), timeout=8)
    await asyncio.sleep(0.5)
    assert len(opened()) == 1, "the dropped press sent nothing"


async def test_a_queue_behind_one_user_holds_no_slot_for_others():
    """Unit: with two slots, five slow updates of one user do not keep a second user out."""
    from telegram import Chat, Message, Update, User

    from bot.app import PerUserUpdateProcessor

    def update(uid: int, n: int) -> Update:
        user = User(uid, f"u{uid}", False)
        return Update(n, message=Message(n, datetime.now(timezone.utc), Chat(uid, "private"), from_user=user))

    processor = PerUserUpdateProcessor(2)
    done: list[tuple[int, float]] = []
    started = time.monotonic()

    async def work(uid: int, seconds: float):
        await asyncio.sleep(seconds)
        done.append((uid, time.monotonic() - started))

    tasks = [asyncio.create_task(processor.process_update(update(1, i), work(1, 0.3))) for i in range(5)]
    await asyncio.sleep(0.01)
    tasks.append(asyncio.create_task(processor.process_update(update(2, 9), work(2, 0.0))))
    await asyncio.gather(*tasks)
    bob_done = next(t for uid, t in done if uid == 2)
    assert bob_done < 0.2, f"user 2 waited {bob_done:.2f} s behind user 1's queue"
    assert [uid for uid, _ in done].count(1) == 5
