"""The Telegram Bot API emulator, driven by the real python-telegram-bot (no mocks)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.sandbox.telegram import (
    EMULATOR_STATE,
    EmulatorConfig,
    EmulatorControl,
    create_telegram_emulator_app,
    start_emulator,
)
from bot.sandbox.telegram_html import parse_html

TOKEN = EmulatorConfig().bot_token
USER = 1001
OTHER = 1002
GROUP = -100500


@pytest.fixture
async def emu():
    emulator = await start_emulator(config=EmulatorConfig())
    try:
        yield emulator
    finally:
        await emulator.close()


@pytest.fixture
async def ctl(emu):
    async with EmulatorControl(emu.url) as control:
        await control.create_user(USER, "Ali", username="ali", language_code="fa")
        await control.create_user(OTHER, "Sara", username="sara", language_code="en")
        await control.create_chat(GROUP, "group", title="Ops", members=[USER, OTHER])
        yield control


@pytest.fixture
async def bot(emu):
    b = Bot(TOKEN, base_url=emu.bot_base_url)
    async with b:
        yield b


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


# --------------------------------------------------------------------------- basics


async def test_get_me_and_bad_token(emu, bot):
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot and me.username == "manageit_test_bot"
    assert me.can_read_all_group_messages is False
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=emu.bot_base_url):
            pass
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{emu.url}/bot999:wrong/getMe") as r:
            assert r.status == 401
            assert await r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with s.post(f"{emu.url}/bot{TOKEN}/noSuchMethod") as r:
            assert r.status == 404 and (await r.json())["description"] == "Not Found"
        # JSON bodies are accepted too
        async with s.post(
            f"{emu.url}/bot{TOKEN}/sendMessage", json={"chat_id": 5, "text": "x"}
        ) as r:
            assert r.status == 400 and (await r.json())["description"] == "Bad Request: chat not found"


async def test_send_message_html_and_keyboard(ctl, bot):
    msg = await bot.send_message(
        USER,
        "<b>Servers</b> &amp; <i>disks</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("List", "srv:list"), ("Help", "help")),
    )
    assert msg.text == "Servers & disks"
    assert msg.from_user.id == 123456 and msg.from_user.is_bot
    assert msg.chat.id == USER and msg.chat.type == "private"
    assert msg.entities == (
        MessageEntity("bold", 0, 7),
        MessageEntity("italic", 10, 5),
    )
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "srv:list"
    second = await bot.send_message(USER, "plain", reply_parameters=ReplyParameters(msg.message_id))
    assert second.message_id == msg.message_id + 1
    assert second.reply_to_message.message_id == msg.message_id
    await bot.send_message(USER, "prompt", reply_markup=ForceReply(selective=True))

    transcript = await ctl.messages(USER)
    assert [m["text"] for m in transcript] == ["Servers & disks", "plain", "prompt"]
    first = transcript[0]
    assert first["from_bot"] and first["html"] == "<b>Servers</b> &amp; <i>disks</i>"
    assert first["buttons"] == [
        [{"text": "List", "callback_data": "srv:list"}],
        [{"text": "Help", "callback_data": "help"}],
    ]
    assert transcript[1]["reply_to_message_id"] == msg.message_id
    assert transcript[2]["force_reply"] is True and transcript[2]["buttons"] is None
    assert await ctl.errors() == []
    assert [c["method"] for c in await ctl.calls()].count("sendMessage") == 3


async def test_html_parsing_utf16_offsets():
    text, entities = parse_html("سلام <b>دنیا</b> 😀 <i>تست</i> <code>a&lt;b</code>")
    assert text == "سلام دنیا 😀 تست a<b"
    # the emoji counts as two UTF-16 code units
    assert entities == [
        {"type": "bold", "offset": 5, "length": 4},
        {"type": "italic", "offset": 13, "length": 3},
        {"type": "code", "offset": 17, "length": 3},
    ]
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    text, entities = parse_html(
        '<a href="https://manageit.ir/?a=1&amp;b=2">link</a> <span class="tg-spoiler">s</span>'
        " <tg-spoiler>t</tg-spoiler> <blockquote expandable>q</blockquote> &#1587;&#x1F600;"
    )
    assert text == "link s t q س😀"
    assert [e["type"] for e in entities] == [
        "text_link",
        "spoiler",
        "spoiler",
        "expandable_blockquote",
    ]
    assert entities[0]["url"] == "https://manageit.ir/?a=1&b=2"


async def test_utf16_offsets_through_the_api(ctl, bot):
    msg = await bot.send_message(USER, "😀😀 <b>سرور</b>", parse_mode="HTML")
    assert msg.text == "😀😀 سرور"
    assert msg.entities[0].offset == 5 and msg.entities[0].length == 4
    assert msg.parse_entity(msg.entities[0]) == "سرور"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "html, reason",
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("<b>unclosed", "Can't find end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("1 < 2", "Unsupported start tag"),
        ("Tom & Jerry", 'bare "&"'),
    ],
)
async def test_bad_html_refused(ctl, bot, html, reason):
    with pytest.raises(BadRequest) as exc:
        await bot.send_message(USER, html, parse_mode="HTML")
    assert "can't parse entities" in exc.value.message.lower()
    assert reason.lower() in exc.value.message.lower()
    errors = await ctl.errors()
    assert len(errors) == 1 and errors[0]["method"] == "sendMessage"
    assert errors[0]["chat_id"] == USER
    assert errors[0]["description"].startswith("Bad Request: can't parse entities: ")


async def test_refusals(emu, ctl, bot):
    # callback_data: 1..64 bytes; 33 Persian letters are 66 bytes
    for data in ("x" * 65, "س" * 33, ""):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(
                USER, "k", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])
            )
    await bot.send_message(USER, "ok", reply_markup=keyboard(("b", "س" * 32)))  # exactly 64 bytes

    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # 4096 after parsing
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "hi")
    await ctl.create_user(888, "Quiet", private_chat=False)  # never started the bot
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(888, "hi")

    await ctl.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    await ctl.block(USER, blocked=False)

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, 999)
    sent = await bot.send_message(USER, "bye")
    assert await bot.delete_message(USER, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("again", chat_id=USER, message_id=sent.message_id)

    # another user's message in a group: only an admin bot may delete it
    posted = await ctl.send(GROUP, OTHER, "/status")
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await bot.delete_message(GROUP, posted["message_id"])
    await ctl.create_chat(GROUP, "group", bot_is_admin=True)
    assert await bot.delete_message(GROUP, posted["message_id"])
    assert (await ctl.messages(GROUP))[-1]["deleted"] is True

    descriptions = [e["description"] for e in await ctl.errors()]
    assert "Bad Request: BUTTON_DATA_INVALID" in descriptions
    assert "Forbidden: bot was blocked by the user" in descriptions
    assert len(descriptions) == 14
    emu.state.errors.clear()


async def test_edit_not_modified_and_edits(ctl, bot):
    msg = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard(("A", "a")))
    with pytest.raises(BadRequest, match="Message is not modified: specified new message content"):
        await bot.edit_message_text(
            "<b>v1</b>", chat_id=USER, message_id=msg.message_id, parse_mode="HTML",
            reply_markup=keyboard(("A", "a")),
        )
    # same text but a different keyboard is a modification
    edited = await bot.edit_message_text(
        "<b>v1</b>", chat_id=USER, message_id=msg.message_id, parse_mode="HTML",
        reply_markup=keyboard(("B", "b")),
    )
    assert edited.edit_date is not None and edited.reply_markup.inline_keyboard[0][0].text == "B"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=keyboard(("B", "b")))
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id)
    # editing the text without reply_markup drops the keyboard, as on Telegram
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=keyboard(("C", "c")))
    await bot.edit_message_text("v2", chat_id=USER, message_id=msg.message_id)
    [m] = await ctl.messages(USER)
    assert m["text"] == "v2" and m["buttons"] is None and m["edited"] and m["edit_count"] == 4


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limits(emu, ctl, bot):
    await ctl.config(per_chat_burst=3)
    for i in range(3):
        await bot.send_message(USER, f"m{i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "too fast")
    assert (await ctl.errors())[-1]["retry_after"] == 1

    await ctl.config(per_chat_burst=100, group_per_minute=2)
    await bot.send_message(GROUP, "g1")
    await bot.send_message(GROUP, "g2")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "g3")
    assert 50 <= (await ctl.errors())[-1]["retry_after"] <= 60

    await ctl.config(global_per_second=2, group_per_minute=20)
    await bot.send_message(USER, "a")
    await bot.send_message(OTHER, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "c")

    await ctl.config(rate_limits=False)
    for i in range(15):
        await bot.send_message(USER, f"free {i}")
    errors = await ctl.errors()
    assert [e["error_code"] for e in errors] == [429, 429, 429]
    assert all(e["retry_after"] for e in errors)


async def test_answer_callback_query_refusals(ctl, bot):
    await bot.send_message(USER, "menu", reply_markup=keyboard(("Go", "go")))
    pressed = await ctl.press(USER, USER, label="Go")
    qid = pressed["callback_query_id"]
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(qid, text="x" * 201)
    assert await bot.answer_callback_query(qid, text="Done", show_alert=True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    [answer] = await ctl.callback_answers()
    assert answer == {
        "callback_query_id": qid,
        "user_id": USER,
        "chat_id": USER,
        "message_id": 1,
        "data": "go",
        "answered": True,
        "text": "Done",
        "show_alert": True,
        "url": None,
    }


async def test_chat_members_and_commands(ctl, bot):
    await ctl.create_chat(GROUP, "supergroup", admins=[USER], owner_id=OTHER, bot_is_admin=True)
    assert (await bot.get_chat_member(GROUP, USER)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, OTHER)).status == "creator"
    assert (await bot.get_chat_member(GROUP, 123456)).status == "administrator"
    admins = await bot.get_chat_administrators(GROUP)
    assert {a.user.id for a in admins} == {USER, OTHER, 123456}
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup" and chat.title == "Ops"
    assert (await bot.get_chat(USER)).first_name == "Ali"
    assert await bot.send_chat_action(USER, "typing")

    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("servers", "List servers")])
    await bot.set_my_commands([BotCommand("start", "شروع")], language_code="fa")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "servers"]
    assert (await bot.get_my_commands(language_code="fa"))[0].description == "شروع"
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Cmd", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.log_out()


# --------------------------------------------------------------------------- user side


async def test_user_message_updates_with_bot_command(ctl, bot):
    await ctl.send(USER, USER, "/start deep-link_1", language_code="fa")
    await ctl.create_chat(GROUP, "group", title="Ops")
    await ctl.send(GROUP, OTHER, "/start@manageit_test_bot arg")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 2
    private, group = updates[0].message, updates[1].message
    assert private.text == "/start deep-link_1" and private.from_user.language_code == "fa"
    assert private.entities == (MessageEntity("bot_command", 0, 6),)
    assert private.parse_entity(private.entities[0]) == "/start"
    assert group.chat.id == GROUP and group.chat.type == "group"
    assert group.entities == (MessageEntity("bot_command", 0, 24),)
    assert group.from_user.language_code == "en"
    # not confirmed yet: delivered again; confirmed by a higher offset
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in updates]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()

    # a reply carries reply_to_message
    sent = await bot.send_message(USER, "Which server?", reply_markup=ForceReply())
    await ctl.send(USER, USER, "web-1", reply_to_message_id=sent.message_id)
    [update] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert update.message.reply_to_message.message_id == sent.message_id
    assert update.message.reply_to_message.from_user.is_bot


async def test_long_poll_returns_when_update_arrives(ctl, bot):
    await ctl.send(USER, USER, "warm-up")
    first = await bot.get_updates(timeout=0)
    offset = first[-1].update_id + 1

    async def later():
        await asyncio.sleep(0.2)
        await ctl.send(USER, USER, "hello")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(offset=offset, timeout=5)
    elapsed = time.monotonic() - started
    await task
    assert [u.message.text for u in updates] == ["hello"]
    assert 0.15 < elapsed < 2
    # with nothing to deliver the request is held for the timeout
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0.3) == ()
    assert time.monotonic() - started >= 0.25


async def test_second_poller_ends_the_first_with_conflict(emu, ctl, bot):
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    async with Bot(TOKEN, base_url=emu.bot_base_url) as second_instance:
        await second_instance.get_updates(timeout=0)
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)
    assert [e["error_code"] for e in await ctl.errors()] == [409]


async def test_button_press_delivers_callback_query(ctl, bot):
    data = "srv:web-1:رستارت"
    msg = await bot.send_message(USER, "web-1", reply_markup=keyboard(("Restart", data), ("Back", "b")))
    pressed = await ctl.press(USER, USER, label="Restart")
    [update] = await bot.get_updates(timeout=0)
    cq = update.callback_query
    assert cq.id == pressed["callback_query_id"] and cq.data == data
    assert cq.from_user.id == USER and cq.chat_instance
    assert cq.message.message_id == msg.message_id and cq.message.text == "web-1"
    assert cq.message.reply_markup.inline_keyboard[1][0].text == "Back"
    # forged data against the newest bot message
    forged = await ctl.press(USER, USER, data="admin:drop-all")
    updates = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert updates[0].callback_query.data == "admin:drop-all"
    assert updates[0].callback_query.id == forged["callback_query_id"]
    # no such button -> 404 from the control API
    with pytest.raises(AssertionError, match="404"):
        await ctl.press(USER, USER, label="Nope")


async def test_privacy_mode_in_groups(ctl, bot):
    prompt = await bot.send_message(GROUP, "Name?", reply_markup=ForceReply(selective=True))
    results = {
        "chatter": await ctl.send(GROUP, USER, "just chatting"),
        "command": await ctl.send(GROUP, USER, "/servers"),
        "command_for_us": await ctl.send(GROUP, USER, "/servers@manageit_test_bot"),
        "command_for_other": await ctl.send(GROUP, USER, "/servers@other_bot"),
        "mention": await ctl.send(GROUP, USER, "hey @manageit_test_bot look"),
        "reply": await ctl.send(GROUP, USER, "web-1", reply_to_message_id=prompt.message_id),
    }
    delivered = {k for k, r in results.items() if r["delivered"]}
    assert delivered == {"command", "command_for_us", "mention", "reply"}
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == [
        "/servers",
        "/servers@manageit_test_bot",
        "hey @manageit_test_bot look",
        "web-1",
    ]
    transcript = await ctl.messages(GROUP)
    assert len(transcript) == 7  # everything is kept in the transcript
    await ctl.config(privacy_mode=False)
    assert (await ctl.send(GROUP, USER, "now visible"))["delivered"] is True


async def test_wait_for_prints_transcript(ctl, bot):
    await bot.send_message(USER, "hello there", reply_markup=keyboard(("Go", "go")))
    found = await ctl.wait_for(USER, lambda ms: [m for m in ms if m["text"] == "hello there"], timeout=1)
    assert found[0]["from_bot"]
    with pytest.raises(AssertionError, match=r"(?s)hello there.*\[Go -> go\]"):
        await ctl.wait_for(USER, lambda ms: False, timeout=0.2)


async def test_reset_keeps_update_ids_increasing(emu, ctl, bot):
    first = (await ctl.send(USER, USER, "a"))["update_id"]
    await ctl.reset()
    assert await ctl.messages(USER) == [] and await ctl.errors() == []
    second = (await ctl.send(USER, USER, "b"))["update_id"]
    assert second > first
    assert emu.state.chats[USER].type == "private"  # created on first use


async def test_app_factory_and_state_key():
    app = create_telegram_emulator_app(EmulatorConfig(privacy_mode=False))
    assert app[EMULATOR_STATE].config.privacy_mode is False
    with pytest.raises(ValueError):
        EmulatorConfig(bot_id=1)


# --------------------------------------------------------------------------- a real Application


async def test_real_application_polls_the_emulator(emu, ctl):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html(
            f"<b>Hello</b> {update.effective_user.first_name}",
            reply_markup=keyboard(("Servers", "servers")),
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text(f"You chose {update.callback_query.data}")

    app = Application.builder().token(TOKEN).base_url(emu.bot_base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1)
        try:
            await ctl.send(USER, USER, "/start")
            await ctl.wait_for(USER, lambda ms: any(m["from_bot"] for m in ms), timeout=5)
            await ctl.send(GROUP, OTHER, "/start@manageit_test_bot")
            await ctl.wait_for(GROUP, lambda ms: any(m["text"] == "Hello Sara" for m in ms), timeout=5)
            await ctl.press(USER, USER, label="Servers")
            await ctl.wait_for(
                USER, lambda ms: any(m["text"] == "You chose servers" for m in ms), timeout=5
            )
        finally:
            await app.updater.stop()
            await app.stop()
    transcript = await ctl.messages(USER)
    assert transcript[1]["text"] == "You chose servers" and transcript[1]["edited"]
    group = await ctl.messages(GROUP)
    assert group[1]["reply_to_message_id"] == group[0]["message_id"]  # PTB quotes in groups
    answers = await ctl.callback_answers()
    assert answers[0]["answered"] and answers[0]["text"] == "ok"
    assert await ctl.errors() == []
    assert {c["method"] for c in await ctl.calls()} >= {"getMe", "getUpdates", "sendMessage"}
    assert json.dumps(await ctl.calls())  # serialisable


async def test_control_api_names_a_missing_field(emu):
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{emu.url}/control/users", json={"first_name": "No id"}) as r:
            assert r.status == 400
            assert (await r.json())["error"] == "bad request: field 'id' is required"
        async with s.post(f"{emu.url}/control/users", json={"id": "x"}) as r:
            assert r.status == 400 and "invalid literal" in (await r.json())["error"]


def test_commands_in_a_bots_message_become_entities_as_telegram_detects_them():
    from bot.sandbox.telegram_html import parse_html, with_detected_entities

    text, entities = parse_html("Send <b>me</b> \u2066/token\u2069 in a private chat, or see /help.")
    found = with_detected_entities(text, entities)
    commands = [text[e["offset"]:e["offset"] + e["length"]] for e in found if e["type"] == "bot_command"]
    assert commands == ["/token", "/help"]
    assert [e["type"] for e in found if e["type"] == "bold"] == ["bold"]
    code_text, code_entities = parse_html("type <code>/token x</code>")
    assert [e["type"] for e in with_detected_entities(code_text, code_entities)] == ["code"]
