"""Command line: `manageit-bot run | demo | migrate | gen-key | rotate-keys | sandbox`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("bot")

DEMO_TOKEN = "demo-token"


def _fail(message: str) -> int:
    print(f"manageit-bot: {message}", file=sys.stderr)
    return 2


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()


async def _run_bot(settings: Settings) -> None:
    from bot.app import running_bot

    async with running_bot(settings):
        await _wait_for_stop()


INTERRUPTED = 130  # what a shell reports for Ctrl+C


def _serve(main, settings: Settings) -> int:
    """Run until stopped; a start-up failure is one clear line, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError
    from telegram.error import InvalidToken, NetworkError

    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        return INTERRUPTED
    except InvalidToken:  # its message holds the token: say it without it
        return _fail(f"Telegram ({settings.telegram_api_url}) rejected TELEGRAM_BOT_TOKEN; check it with @BotFather")
    except NetworkError as exc:
        return _fail(f"could not reach Telegram at {settings.telegram_api_url}: {type(exc).__name__}")
    except OSError as exc:
        return _fail(f"could not start: {exc.strerror or exc} ({getattr(exc, 'filename', None) or 'DATA_DIR ' + str(settings.data_dir)})")
    except SQLAlchemyError as exc:
        return _fail(f"could not open the database: {type(exc).__name__}")
    return 0


def cmd_run(args) -> int:
    try:
        settings = load_settings(require_token=True, require_keys=True)
    except ConfigError as exc:
        return _fail(str(exc))
    from bot import logging_setup

    logging_setup.setup(settings.log_level)
    return _serve(_run_bot(settings), settings)


def demo_key(data_dir: Path) -> str:
    """The demo's encryption key: kept in DATA_DIR/encryption.key, mode 0600."""
    from bot.storage.vault import TokenVault

    path = data_dir / "encryption.key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = TokenVault.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


async def _demo(settings: Settings, sandbox_port: int, delay: float) -> None:
    from aiohttp import web

    from bot.sandbox.manageit import SandboxConfig, create_sandbox_app

    sandbox = create_sandbox_app(SandboxConfig(transition_delay=delay))
    runner = web.AppRunner(sandbox, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", sandbox_port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    settings = settings.with_(manageit_api_url=url)
    print(f"ManageIT sandbox: {url} (state in memory; servers become active after {delay:g} s)")
    print(f"In Telegram, open your bot and send:  /token {DEMO_TOKEN}")
    try:
        await _run_bot(settings)
    finally:
        await runner.cleanup()


def cmd_demo(args) -> int:
    """With TELEGRAM_BOT_TOKEN: the sandbox plus the bot on real Telegram. Without one (or
    with --local): sandbox, Telegram Bot API emulator with its chat page, and the bot."""
    try:
        settings = load_settings(require_token=False)
    except ConfigError as exc:
        return _fail(str(exc))
    if args.delay < 0:
        return _fail("--delay must be zero or more seconds")
    local = args.local or not settings.telegram_bot_token
    from bot import logging_setup

    if not local:
        if not settings.encryption_keys:
            settings = settings.with_(encryption_keys=(demo_key(settings.data_dir),))
        settings = settings.with_(status_poll_seconds=min(settings.status_poll_seconds, 5.0))
        logging_setup.setup(settings.log_level)
        return _serve(_demo(settings, args.sandbox_port, args.delay), settings)

    from bot.sandbox.demo import DEFAULT_PAGE_PORT, run_local_demo

    settings = settings.with_(status_poll_seconds=min(settings.status_poll_seconds, 2.0))
    keep_data = args.data_dir is not None
    if keep_data:
        data_dir = Path(args.data_dir)
        settings = settings.with_(
            data_dir=data_dir,
            database_url=f"sqlite+aiosqlite:///{(data_dir / 'demo.sqlite3').as_posix()}",
        )
        if not settings.encryption_keys:
            settings = settings.with_(encryption_keys=(demo_key(data_dir),))
    port = DEFAULT_PAGE_PORT if args.port is None else args.port
    logging_setup.setup(settings.log_level)
    return _serve(
        run_local_demo(
            settings,
            port=port,
            sandbox_port=args.sandbox_port,
            delay=args.delay,
            open_browser=not args.no_browser,
            port_fallback=args.port is None,
            keep_data=keep_data,
        ),
        settings,
    )


def cmd_migrate(args) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    from bot.storage.migrate import upgrade

    code = _serve(upgrade(settings.database_url), settings)
    if code:
        return code
    print("database is up to date")
    return 0


async def _rotate_keys(settings: Settings) -> int:
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade
    from bot.storage.repositories import CredentialRepo
    from bot.storage.vault import TokenVault

    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            count = await CredentialRepo(TokenVault(list(settings.encryption_keys))).rotate_all(session)
    finally:
        await db.dispose()
    return count


def cmd_rotate_keys(args) -> int:
    try:
        settings = load_settings(require_keys=True)
    except ConfigError as exc:
        return _fail(str(exc))
    from bot.storage.vault import VaultError

    result: list[int] = []

    async def main() -> None:
        result.append(await _rotate_keys(settings))

    try:
        code = _serve(main(), settings)
        if code:
            return code
    except VaultError:
        return _fail("a stored token cannot be decrypted with any key in ENCRYPTION_KEYS; nothing was changed")
    print(f"re-encrypted {result[0]} stored token(s) with the first key in ENCRYPTION_KEYS; "
          "the other keys can now be removed")
    return 0


def cmd_gen_key(args) -> int:
    from bot.storage.vault import TokenVault

    print(TokenVault.generate_key())
    return 0


def cmd_sandbox(args) -> int:
    from bot import logging_setup
    from bot.sandbox.manageit import SandboxConfig, run_sandbox

    logging_setup.setup("INFO")
    print(f"ManageIT sandbox on http://{args.host}:{args.port} — token: {DEMO_TOKEN}")
    try:
        asyncio.run(run_sandbox(args.host, args.port, SandboxConfig(transition_delay=args.delay)))
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manageit-bot",
        description="Telegram chat-ops bot for the ManageIT cloud. Settings come from the environment or .env.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("run", help="run the bot (long polling); needs TELEGRAM_BOT_TOKEN and ENCRYPTION_KEYS")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser(
        "demo",
        help="try every flow: the ManageIT sandbox plus the bot, locally in a browser or on Telegram",
        description=(
            "Run the bot against the ManageIT sandbox (in memory, no ManageIT account needed). "
            "Without TELEGRAM_BOT_TOKEN (or with --local), nothing talks to Telegram either: a "
            "Telegram Bot API emulator on loopback serves a chat page that behaves like Telegram, "
            "at the address printed at start (http://127.0.0.1:8088/ unless that port is taken). There "
            "you act as any of three users (en/fa), in a private chat with the bot or in the group "
            "'Ops team'. Sandbox token: demo-token. "
            "With TELEGRAM_BOT_TOKEN set, the bot talks to Telegram: open it there and send "
            "/token demo-token."
        ),
    )
    p.add_argument("--local", action="store_true", help="use the local chat page even if TELEGRAM_BOT_TOKEN is set")
    p.add_argument(
        "--port", type=int, default=None,
        help="chat page (and emulator) port on 127.0.0.1; 0 = any free port "
             "(default: 8088, or a free port if 8088 is taken)",
    )
    p.add_argument("--sandbox-port", type=int, default=0, help="port for the ManageIT sandbox (default 0: any free port)")
    p.add_argument("--delay", type=float, default=10.0, help="seconds a new server stays 'creating' in the sandbox (default 10)")
    p.add_argument("--no-browser", action="store_true", help="do not open the chat page in a browser (local mode)")
    p.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help="local mode: keep the bot's database and key in DIR (default: a temporary folder, removed at exit)",
    )
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("gen-key", help="print a new encryption key for ENCRYPTION_KEYS")
    p.set_defaults(func=cmd_gen_key)
    p = sub.add_parser(
        "rotate-keys",
        help="re-encrypt every stored token with the first key in ENCRYPTION_KEYS",
        description="Put a new key first in ENCRYPTION_KEYS (keep the old ones after it), run this, "
        "then remove the old keys.",
    )
    p.set_defaults(func=cmd_rotate_keys)
    p = sub.add_parser("sandbox", help="run the ManageIT sandbox alone")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--delay", type=float, default=10.0, help="seconds a new server stays 'creating'")
    p.set_defaults(func=cmd_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
