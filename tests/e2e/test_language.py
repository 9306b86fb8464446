"""The language a person is answered in: their choice (/language or the menu's button),
kept in the database over a restart and winning over their Telegram app's language;
without a choice, Telegram's language_code; Persian when that is unknown or missing."""
from __future__ import annotations

import pytest

from bot.app import running_bot
from bot.i18n import strip_tags, translator
from bot.storage.db import Database
from bot.storage.models import TelegramUser

from .conftest import Person, _norm, labels

OTHER = {"en": "fa", "fa": "en"}
BUTTON = {"fa": "فارسی", "en": "English"}


async def reply_to(person: Person, sent: dict, key: str, **values) -> dict:
    """Wait for a bot message sent after `sent` that shows catalog message `key` in the
    person's expected language."""
    wanted = _norm(strip_tags(person.tr.t(key, **values)))

    def find(messages):
        return next((m for m in reversed(messages) if m["from_bot"] and not m["deleted"]
                     and m["message_id"] > sent["message_id"] and wanted in _norm(m["text"] or "")), None)

    return await person.control.wait_for(person.chat_id, find)


@pytest.mark.parametrize("how", ["button", "command"])
async def test_the_chosen_language_wins_over_telegrams_and_outlives_a_restart(settings, control, lang, how):
    other = OTHER[lang]
    await control.create_user(1001, first_name="Alice", language_code=lang)
    alice = Person(control, 1001, "Alice", lang)
    chosen = alice.expecting(other)  # her Telegram app keeps sending `lang`
    assert chosen.telegram_lang == lang

    async with running_bot(settings):
        sent = await alice.say("/start")
        await reply_to(alice, sent, "menu.not_connected")  # no choice yet: Telegram's language
        if how == "button":
            await alice.press_key("btn.language")
            await alice.expect_menu_key("language.choose")
            await alice.press(BUTTON[other])
            await alice.answered(1)
        else:
            await alice.say(f"/language {other}")
        changed = await chosen.expect_menu_key("language.changed")
        assert strip_tags(chosen.tr.t("menu.not_connected")) in changed["text"]  # the main menu, in the new language
        assert chosen.label("btn.projects") in labels(changed) and alice.label("btn.projects") not in labels(changed)
        sent = await alice.say("/help")
        await reply_to(chosen, sent, "help.text")

    async with running_bot(settings):  # a new process: nothing in memory, the database remembers
        sent = await alice.say("/start")
        menu = await reply_to(chosen, sent, "menu.not_connected")
        assert chosen.label("btn.language") in labels(menu) and alice.label("btn.language") not in labels(menu)
        await chosen.press_key("btn.help")
        helped = await chosen.expect_menu_key("help.text")
        assert helped["message_id"] == menu["message_id"]
        await chosen.answered(1)
        sent = await alice.say("/language")
        shown = await reply_to(chosen, sent, "language.choose")
        assert set(BUTTON.values()) <= set(labels(shown))

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            row = await session.get(TelegramUser, 1001)
            stored = (row.language, row.language_code)
    finally:
        await db.dispose()
    assert stored == (other, lang)  # the choice, beside the Telegram language it won over


@pytest.mark.parametrize("code", ["de", None], ids=["unknown", "missing"])
async def test_an_unknown_or_missing_telegram_language_gets_persian(control, bot, code):
    await control.create_user(1003, first_name="Dieter", language_code=code)
    dieter = Person(control, 1003, "Dieter", "fa", telegram_lang=code)
    english = translator("en")
    sent = await dieter.say("/start")
    menu = await reply_to(dieter, sent, "menu.greeting", name="Dieter")
    assert dieter.label("btn.help") in labels(menu) and english.plain("btn.help") not in labels(menu)
    sent = await dieter.say("/help")
    helped = await reply_to(dieter, sent, "help.text")
    assert strip_tags(english.t("help.text")).splitlines()[0] not in helped["text"]
    await dieter.press_data("garbage", message_id=menu["message_id"])
    (answer,) = await dieter.answered(1)
    assert answer["text"] in {dieter.tr.plain("callback.invalid"), dieter.tr.plain("callback.expired")}
