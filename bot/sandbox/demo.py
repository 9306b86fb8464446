"""The local demo: the ManageIT sandbox, the Telegram Bot API emulator with its chat page,
and the real bot between them, all in one event loop on loopback ports.

`manageit-bot demo` with no TELEGRAM_BOT_TOKEN runs this: nothing talks to Telegram or to
ManageIT, everything lives in memory (the bot's database in a temporary folder unless
``data_dir`` is given), and the chat page at the printed address lets a person act as any
of the seeded users, in a private chat with the bot or in the "Ops team" group.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
import tempfile
import webbrowser
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

from aiohttp import web

from bot.config import Settings
from bot.sandbox.manageit import DEMO_TOKEN, SandboxConfig, create_sandbox_app
from bot.sandbox.telegram import EmulatorConfig, EmulatorState, RunningEmulator, start_emulator

log = logging.getLogger(__name__)

DEFAULT_PAGE_PORT = 8088
LOOPBACK = "127.0.0.1"

# The demo's bot: a token of the right shape that only the local emulator accepts.
DEMO_BOT_ID = 7000000001
DEMO_BOT_TOKEN = f"{DEMO_BOT_ID}:local-demo-only-not-a-telegram-token"
DEMO_BOT_USERNAME = "manageit_demo_bot"
DEMO_BOT_NAME = "ManageIT"

# A second sandbox account, so that two people in the group can act with their own tokens.
SECOND_TOKEN = "demo-token-2"


@dataclass(frozen=True)
class DemoUser:
    id: int
    first_name: str
    username: str
    language_code: str
    last_name: str | None = None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(1001, "Alice", "alice", "en", "Admin"),
    DemoUser(1002, "Reza", "reza", "fa", "Karimi"),
    DemoUser(1003, "Sara", "sara", "fa", "Ahmadi"),
)
DEMO_GROUP_ID = -1001234567890
DEMO_GROUP_TITLE = "Ops team"


def demo_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        bot_token=DEMO_BOT_TOKEN,
        bot_id=DEMO_BOT_ID,
        bot_username=DEMO_BOT_USERNAME,
        bot_first_name=DEMO_BOT_NAME,
        privacy_mode=True,  # as a new bot on Telegram: in the group it sees commands and replies
        rate_limits=True,
    )


def demo_sandbox_config(delay: float) -> SandboxConfig:
    return SandboxConfig(
        tokens={
            DEMO_TOKEN: {"id": 1, "name": "Demo User", "email": "demo@example.com"},
            SECOND_TOKEN: {"id": 2, "name": "Second Demo", "email": "second@example.com"},
        },
        transition_delay=delay,
    )


def seed_emulator(state: EmulatorState, *, delay: float, sandbox_url: str) -> None:
    """Three users (each with a private chat), the "Ops team" group with the bot as admin,
    and the notes the chat page shows beside the chats."""
    for user in DEMO_USERS:
        state.ensure_user(
            user.id,
            first_name=user.first_name,
            username=user.username,
            language_code=user.language_code,
            last_name=user.last_name,
        )
        state.ensure_private_chat(user.id)
    owner = DEMO_USERS[0].id
    state.upsert_chat(
        {
            "id": DEMO_GROUP_ID,
            "type": "supergroup",
            "title": DEMO_GROUP_TITLE,
            "members": [u.id for u in DEMO_USERS],
            "admins": [owner],
            "owner_id": owner,
            "bot_is_admin": True,
        }
    )
    state.page_info = {
        "title": "ManageIT bot — local demo",
        "tokens": [
            {"token": DEMO_TOKEN, "account": "Demo User"},
            {"token": SECOND_TOKEN, "account": "Second Demo"},
        ],
        "delay": delay,
        "sandbox_url": sandbox_url,
        "group_id": DEMO_GROUP_ID,
    }
    state.announce("directory")


@dataclass
class RunningDemo:
    emulator: RunningEmulator
    sandbox_url: str
    settings: Settings

    @property
    def page_url(self) -> str:
        return self.emulator.page_url


async def _start_sandbox(port: int, delay: float) -> tuple[web.AppRunner, str]:
    app = create_sandbox_app(demo_sandbox_config(delay))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    return runner, f"http://{LOOPBACK}:{bound}"


async def _start_page(port: int, fallback: bool) -> RunningEmulator:
    try:
        return await start_emulator(LOOPBACK, port, demo_emulator_config())
    except OSError as exc:
        if not fallback or exc.errno != errno.EADDRINUSE:
            raise
        log.warning("port %s is in use; the chat page takes a free port instead", port)
        return await start_emulator(LOOPBACK, 0, demo_emulator_config())


@asynccontextmanager
async def running_demo(
    settings: Settings,
    *,
    port: int = DEFAULT_PAGE_PORT,
    sandbox_port: int = 0,
    delay: float = 10.0,
    port_fallback: bool = False,
) -> AsyncIterator[RunningDemo]:
    """Start sandbox, emulator (with the chat page) and bot; stop all three on exit.

    ``settings`` gives the database, keys, language and poll interval; the Telegram and
    ManageIT addresses and the bot token are replaced by the local ones."""
    from bot.app import running_bot

    sandbox_runner, sandbox_url = await _start_sandbox(sandbox_port, delay)
    emulator: RunningEmulator | None = None
    try:
        emulator = await _start_page(port, port_fallback)
        seed_emulator(emulator.state, delay=delay, sandbox_url=sandbox_url)
        settings = settings.with_(
            telegram_bot_token=DEMO_BOT_TOKEN,
            telegram_api_url=emulator.url,
            manageit_api_url=sandbox_url,
        )
        async with running_bot(settings):
            yield RunningDemo(emulator=emulator, sandbox_url=sandbox_url, settings=settings)
    finally:
        if emulator is not None:
            await emulator.close()
        await sandbox_runner.cleanup()


def _can_open_browser() -> bool:
    """Only where a graphical browser can show: never a text browser taking over the terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    if not _can_open_browser():
        return False
    try:
        return webbrowser.open(url, new=2)
    except Exception:  # a missing or broken browser must not stop the demo
        return False


async def wait_for_signal() -> None:
    """Until SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()


async def run_local_demo(
    settings: Settings,
    *,
    port: int = DEFAULT_PAGE_PORT,
    sandbox_port: int = 0,
    delay: float = 10.0,
    open_browser: bool = True,
    port_fallback: bool = False,
    keep_data: bool = False,
    stop: asyncio.Event | None = None,
    out: Callable[[str], None] | None = None,
) -> None:
    """Run the local demo until ``stop`` is set (by default: until SIGINT / SIGTERM).

    Unless ``keep_data``, the bot's database lives in a temporary folder removed at exit
    and its encryption key only in memory, so each run starts as fresh as the in-memory
    sandbox and emulator. With ``keep_data``, ``settings`` must carry the keys."""

    def say(line: str) -> None:
        if out is not None:
            out(line)
        else:
            print(line, flush=True)

    tmp: tempfile.TemporaryDirectory | None = None
    if not keep_data:
        from bot.storage.vault import TokenVault

        tmp = tempfile.TemporaryDirectory(prefix="manageit-demo-")
        data_dir = Path(tmp.name)
        settings = settings.with_(
            data_dir=data_dir,
            database_url=f"sqlite+aiosqlite:///{(data_dir / 'demo.sqlite3').as_posix()}",
            encryption_keys=settings.encryption_keys or (TokenVault.generate_key(),),
        )
    try:
        async with running_demo(
            settings, port=port, sandbox_port=sandbox_port, delay=delay, port_fallback=port_fallback
        ) as demo:
            names = ", ".join(f"{u.first_name} ({u.language_code})" for u in DEMO_USERS)
            where = "a temporary database" if tmp else f"the database in {settings.data_dir}"
            say(f"ManageIT sandbox: {demo.sandbox_url} (in memory; new servers become active after {delay:g} s)")
            say(f"Bot: @{DEMO_BOT_USERNAME} on the local Telegram Bot API emulator, with {where}")
            say(f"Users: {names}; group: {DEMO_GROUP_TITLE}")
            say(f"Sandbox tokens: {DEMO_TOKEN}, {SECOND_TOKEN}")
            say(f"Chat page: {demo.page_url}")
            say("Open the chat page, send /start, then /token and a sandbox token. Ctrl+C stops.")
            if open_browser:
                open_in_browser(demo.page_url)
            if stop is None:
                await wait_for_signal()
            else:
                await stop.wait()
    finally:
        if tmp is not None:
            tmp.cleanup()
