"""One user's slow API call never holds up another user."""
from __future__ import annotations

import time

from .conftest import ALICE_TOKEN, BOB_TOKEN, connect


async def test_a_second_user_is_answered_while_the_first_waits(alice, bob, sandbox, no_refusals):
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


async def test_one_users_updates_are_handled_in_order(alice, sandbox, no_refusals):
    await connect(alice, ALICE_TOKEN)
    sandbox.state.config.latency_by_token = {ALICE_TOKEN: 0.5}
    await alice.say("/projects")
    await alice.say("/help")  # must not overtake the slow /projects
    await alice.expect_key("help.text")
    bot_messages = [m for m in await alice.messages() if m["from_bot"] and not m["deleted"]]
    texts = [m["text"] for m in bot_messages[-2:]]
    assert alice.tr.plain("projects.empty") in texts[0]
