"""End-to-end harness: the real python-telegram-bot Application between the Telegram
Bot API emulator and the ManageIT sandbox, each on a loopback port.

Tests act as people: `Person.say()` types in a chat, `Person.press()` taps a button by
its visible label, `Person.expect()` waits for the bot's answer. Labels and texts come
from the locale catalogs, so the same test runs in English and in Persian.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.app import running_bot
from bot.config import Settings
from bot.i18n import Translator, strip_tags, translator
from bot.sandbox.manageit import SANDBOX_STATE, SandboxConfig, create_sandbox_app
from bot.sandbox.telegram import EmulatorConfig, start_emulator
from bot.sandbox.telegram_client import EmulatorControl, format_transcript
from bot.storage.vault import TokenVault

ALICE_TOKEN = "alice-token-7f3a9c2e1b"
BOB_TOKEN = "bob-token-4d8e6a0c2f"
BAD_TOKEN = "revoked-token-000000"
TRANSITION = 0.6
POLL = 0.25


@dataclass
class Sandbox:
    url: str
    app: web.Application

    @property
    def state(self):
        return self.app[SANDBOX_STATE]


@pytest.fixture
async def sandbox():
    config = SandboxConfig(
        tokens={
            ALICE_TOKEN: {"id": 1, "name": "Alice Admin", "email": "alice@example.com"},
            BOB_TOKEN: {"id": 2, "name": "Bob Builder", "email": "bob@example.com"},
        },
        transition_delay=TRANSITION,
    )
    app = create_sandbox_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield Sandbox(f"http://127.0.0.1:{port}", app)
    await runner.cleanup()


@pytest.fixture
async def emulator():
    emu = await start_emulator(config=EmulatorConfig())
    yield emu
    await emu.close()


@pytest.fixture
async def control(emulator):
    async with EmulatorControl(emulator.url) as ctl:
        yield ctl


@pytest.fixture
def settings(sandbox, emulator, tmp_path) -> Settings:
    return Settings(
        telegram_bot_token=emulator.config.bot_token,
        telegram_api_url=emulator.url,
        manageit_api_url=sandbox.url,
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        encryption_keys=(TokenVault.generate_key(),),
        default_language="fa",
        status_poll_seconds=POLL,
        log_level="DEBUG",
        polling_timeout=1,
        manageit_timeout=5.0,
    )


@pytest.fixture
async def bot(settings, control):
    async with running_bot(settings) as app:
        yield app
        await settle_callbacks(control)  # a press the test did not wait on is answered before the bot stops


async def settle_callbacks(control: EmulatorControl, timeout: float = 3.0) -> None:
    """Wait (up to `timeout`) until every button press the emulator received is answered."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while any(not a["answered"] for a in await control.callback_answers()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


class Person:
    """A Telegram user acting in one chat (their private chat by default)."""

    def __init__(self, control: EmulatorControl, user_id: int, name: str, lang: str, chat_id: int | None = None,
                 telegram_lang: str | None = ...):  # type: ignore[assignment]
        self.control = control
        self.user_id = user_id
        self.name = name
        self.lang = lang  # the language the bot is expected to answer in
        # the language_code their Telegram app sends (None: none at all); by default `lang`
        self.telegram_lang = lang if telegram_lang is ... else telegram_lang
        self.chat_id = chat_id if chat_id is not None else user_id
        self.tr: Translator = translator(lang)

    def in_chat(self, chat_id: int) -> "Person":
        return Person(self.control, self.user_id, self.name, self.lang, chat_id, self.telegram_lang)

    def with_language(self, lang: str) -> "Person":
        return Person(self.control, self.user_id, self.name, lang, self.chat_id)

    def expecting(self, lang: str) -> "Person":
        """The same person, their Telegram app unchanged, expecting answers in `lang`."""
        return Person(self.control, self.user_id, self.name, lang, self.chat_id, self.telegram_lang)

    # -- acting -------------------------------------------------------------------------
    async def say(self, text: str, reply_to: int | None = None) -> dict:
        return await self.control.send(self.chat_id, self.user_id, text, reply_to_message_id=reply_to,
                                       language_code=self.telegram_lang or "")  # "": no language_code

    async def press(self, label: str, message_id: int | None = None, timeout: float = 10) -> dict:
        """Tap a button by its label, waiting (as a person would) until it is shown."""
        import asyncio
        import time

        from bot.sandbox.telegram_client import ControlAPIError

        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.control.press(self.chat_id, self.user_id, label=label, message_id=message_id)
            except ControlAPIError as exc:
                if exc.status != 404 or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.03)

    async def press_key(self, key: str, **values) -> dict:
        """Press the button whose label is this catalog message."""
        return await self.press(self.tr.plain(key, **values))

    async def press_match(self, fragment: str) -> dict:
        """Press the first button of the newest menu whose label holds `fragment`."""
        menu = await self.menu()
        for label in labels(menu):
            if _norm(fragment) in _norm(label):
                return await self.press(label, message_id=menu["message_id"])
        raise AssertionError(f"no button with {fragment!r} in {labels(menu)}")

    async def press_data(self, data: str, message_id: int | None = None) -> dict:
        return await self.control.press(self.chat_id, self.user_id, data=data, message_id=message_id)

    # -- observing ----------------------------------------------------------------------
    async def messages(self) -> list[dict]:
        return await self.control.messages(self.chat_id)

    async def expect(self, *fragments: str, timeout: float = 10) -> dict:
        """Wait for a live bot message whose text holds every fragment; return it."""
        wanted = [_norm(f) for f in fragments]

        def find(messages):
            for m in reversed(messages):
                if m["from_bot"] and not m["deleted"] and all(w in _norm(m["text"] or "") for w in wanted):
                    return m
            return None

        return await self.control.wait_for(self.chat_id, find, timeout=timeout)

    async def expect_key(self, key: str, timeout: float = 10, **values) -> dict:
        """Wait for the catalog message `key` (its plain text) in a live bot message."""
        return await self.expect(strip_tags(self.tr.t(key, **values)), timeout=timeout)

    async def expect_menu_key(self, key: str, timeout: float = 10, **values) -> dict:
        """Wait until the newest menu (live bot message with buttons) shows catalog message
        `key`: the screen a person would act on next."""
        wanted = _norm(strip_tags(self.tr.t(key, **values)))

        def find(messages):
            for m in reversed(messages):
                if m["from_bot"] and not m["deleted"] and m.get("buttons"):
                    return m if wanted in _norm(m["text"] or "") else None
            return None

        return await self.control.wait_for(self.chat_id, find, timeout=timeout)

    async def menu(self) -> dict:
        """The newest live bot message with buttons."""
        def find(messages):
            for m in reversed(messages):
                if m["from_bot"] and not m["deleted"] and m.get("buttons"):
                    return m
            return None

        return await self.control.wait_for(self.chat_id, find)

    async def answers(self) -> list[dict]:
        return [a for a in await self.control.callback_answers() if a["user_id"] == self.user_id]

    async def answered(self, count: int = 1, timeout: float = 10) -> list[dict]:
        """Wait until this user's newest `count` button presses are answered; return them."""
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while True:
            answers = await self.answers()
            if len(answers) >= count and all(a["answered"] for a in answers[-count:]):
                return answers[-count:]
            if time.monotonic() > deadline:
                raise AssertionError(f"callback queries not answered: {answers}")
            await asyncio.sleep(0.03)

    def label(self, key: str, **values) -> str:
        return self.tr.plain(key, **values)


def second_tap_answers(tr: Translator) -> set[str]:
    """What a second tap on a button gets: the press came while the first was still being
    handled ("still working"), or after it had replaced the screen ("already changed")."""
    return {tr.plain("callback.busy"), tr.plain("callback.stale")}


def _norm(text: str) -> str:
    """Compare texts without bidi isolates and with folded white space."""
    return re.sub(r"\s+", " ", text.replace("\u2068", "").replace("\u2069", "")).strip()


def labels(message: dict) -> list[str]:
    return [b["text"] for row in message.get("buttons") or [] for b in row]


@pytest.fixture
def person_factory(control):
    def make(user_id: int, name: str, lang: str, chat_id: int | None = None) -> Person:
        return Person(control, user_id, name, lang, chat_id)

    return make


@pytest.fixture(params=["en", "fa"])
def lang(request) -> str:
    return request.param


@pytest.fixture
async def alice(control, bot, lang) -> Person:
    await control.create_user(1001, first_name="Alice", username="alice", language_code=lang)
    return Person(control, 1001, "Alice", lang)


@pytest.fixture
async def bob(control, bot, lang) -> Person:
    await control.create_user(1002, first_name="Bob", username="bob", language_code=lang)
    return Person(control, 1002, "Bob", lang)


async def connect(person: Person, token: str = ALICE_TOKEN) -> None:
    """/token, then the token as a message; wait until it is saved."""
    await person.say("/token")
    await person.expect_key("token.prompt")
    await person.say(token)
    await person.expect(strip_tags(person.tr.t("token.saved", name="x", email="y")).split("x")[0].strip())


@pytest.fixture(autouse=True)
async def telegram_checks(request, control):
    """For every e2e test, checked after the bot has stopped:

    * the bot made no Bot API call that Telegram refused — unless the test is marked
      `@pytest.mark.refusals_expected("deleteMessage", ...)`: then refusals of those
      methods (and only those) are allowed, and each named method must have been refused
      at least once (a stale opt-out fails too);
    * every button press (callback query) the emulator received was answered, so no
      spinner is left turning.
    """
    yield
    marker = request.node.get_closest_marker("refusals_expected")
    allowed = set(marker.args) if marker else set()
    errors = await control.errors()
    unexpected = [e for e in errors if e["method"] not in allowed]
    problems = []
    if unexpected:
        problems.append("Telegram refused Bot API calls:" + "".join(
            f"\n  {e['method']} chat {e['chat_id']}: {e['error_code']} {e['description']}" for e in unexpected))
    stale = sorted(allowed - {e["method"] for e in errors})
    if stale:
        problems.append(f"marked refusals_expected{tuple(sorted(allowed))} but {stale} never refused")
    answers = await control.callback_answers()
    unanswered = [a for a in answers if not a["answered"]]
    if unanswered:
        chats = sorted({a["chat_id"] for a in unanswered})
        transcripts = [f"chat {c}:\n{format_transcript(await control.messages(c))}" for c in chats]
        problems.append("callback queries never answered:" + "".join(
            f"\n  user {a['user_id']} chat {a['chat_id']} message #{a['message_id']} data {a['data']!r}"
            for a in unanswered) + "\n" + "\n".join(transcripts))
    assert not problems, "\n".join(problems)

