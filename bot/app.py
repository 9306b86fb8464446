"""Builds the python-telegram-bot Application: handlers, jobs, update processing."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from aiolimiter import AsyncLimiter
from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import TelegramError
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import logging_setup
from bot.config import Settings
from bot.handlers import account, base, groups, load_balancers, projects, servers, start  # noqa: F401  (registers actions)
from bot.i18n import LANGUAGES, normalize_language, translator
from bot.notifier import Notifier
from bot.services import Services

log = logging.getLogger(__name__)

COMMANDS = ("start", "menu", "projects", "token", "account", "logout", "language", "cancel", "help")


class BotApplication(Application):
    """The Application, carrying the bot's services (database, API, vault)."""

    __slots__ = ("services", "notifier")

    def __init__(self, *, services: Services, **kwargs):
        super().__init__(**kwargs)
        self.services = services
        self.notifier = Notifier(services)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates from different users run concurrently; one user's updates run in order.

    A slow API call for one user never holds up another: an update waits for its user's
    turn *before* it takes one of the concurrency slots, so a queue behind one user holds
    no slot. A button pressed while the same user's previous update is still running is
    answered at once (`on_busy`, "still working…") and dropped rather than queued: the
    screen it was pressed on is about to be replaced anyway, and the spinner must not wait
    for someone else's API call. Typed messages always queue, in order."""

    __slots__ = ("_locks", "_waiting", "_slots", "on_busy")

    def __init__(self, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: dict[object, int] = {}
        self.on_busy: Callable[[Update], Awaitable[None]] | None = None

    @staticmethod
    def _key(update: object) -> object:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return ("user", update.effective_user.id)
            if update.effective_chat is not None:
                return ("chat", update.effective_chat.id)
        return None

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock.locked() and self.on_busy is not None and isinstance(update, Update) and update.callback_query:
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()  # never awaited: the press is answered and dropped
            await self.on_busy(update)
            return
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                async with self._slots:
                    await coroutine
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def do_process_update(self, update, coroutine) -> None:  # process_update does it all
        await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class ChatRateLimiter(AIORateLimiter):
    """PTB's limiter (overall and per group) plus Telegram's per-chat pace for private
    chats: a short burst, then about one message a second, so that a quick flow with a
    notice in between is paced by the bot rather than refused by Telegram."""

    def __init__(self, *, per_chat_burst: int = 5, per_chat_seconds: float = 5.0, **kwargs):
        super().__init__(**kwargs)
        self._burst = per_chat_burst
        self._period = per_chat_seconds
        self._chats: dict[int, AsyncLimiter] = {}

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        if endpoint == "sendMessage" and isinstance(chat_id, int) and chat_id > 0:
            limiter = self._chats.get(chat_id)
            if limiter is None:
                if len(self._chats) > 10000:
                    self._chats.clear()
                limiter = self._chats[chat_id] = AsyncLimiter(self._burst, self._period)
            async with limiter:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


async def track_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before any handler: remember the user once per process and load their language."""
    user = update.effective_user
    if user is None or user.is_bot or context.user_data is None:
        return
    await context.application.notifier.chat_spoke(update)  # type: ignore[attr-defined]  # clears a "blocked the bot" mark
    if context.user_data.get("_seen"):
        return
    services: Services = context.application.services  # type: ignore[attr-defined]
    async with services.db.session() as session:
        row = await services.users.upsert(session, user.id, first_name=user.first_name, language_code=user.language_code)
        if row.language:
            context.user_data["lang"] = row.language
    context.user_data["_seen"] = True


def _update_language(application: Application, update: Update) -> str:
    """The language to answer an update in, outside a handler: the one the user chose,
    else their Telegram language, else the default."""
    default = application.services.settings.default_language  # type: ignore[attr-defined]
    user = update.effective_user
    if user is None:
        return default
    chosen = application.user_data.get(user.id, {}).get("lang")
    return chosen or normalize_language(user.language_code, default)


def _busy_answerer(application: Application) -> Callable[[Update], Awaitable[None]]:
    async def on_busy(update: Update) -> None:
        tr = translator(_update_language(application, update))
        try:
            await update.callback_query.answer(tr.plain("callback.busy"))
        except TelegramError as exc:
            log.debug("could not answer a press made while busy: %s", exc)

    return on_busy


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last resort: log (without secrets) and tell the chat something went wrong."""
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        tr = translator(_update_language(context.application, update))
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await context.bot.send_message(chat_id=update.effective_chat.id, text=tr.t("error.internal"))
        except Exception:
            pass


async def _post_init(application: Application) -> None:
    for lang in LANGUAGES:
        tr = translator(lang)
        commands = [BotCommand(cmd, tr.plain(f"command.{cmd}")) for cmd in COMMANDS]
        default = application.services.settings.default_language  # type: ignore[attr-defined]
        await application.bot.set_my_commands(commands, language_code=None if lang == default else lang)


def build_application(settings: Settings, services: Services) -> BotApplication:
    if not settings.telegram_bot_token:
        raise ValueError("a Telegram bot token is required")
    builder = (
        ApplicationBuilder()
        .application_class(BotApplication, kwargs={"services": services})
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(PerUserUpdateProcessor(256))
        .rate_limiter(ChatRateLimiter(max_retries=3))
        .connect_timeout(10)
        .read_timeout(15)
        .write_timeout(15)
        .get_updates_read_timeout(settings.polling_timeout + 10)
        .post_init(_post_init)
    )
    app: BotApplication = builder.build()  # type: ignore[assignment]
    processor = app.update_processor
    if isinstance(processor, PerUserUpdateProcessor):
        processor.on_busy = _busy_answerer(app)

    # An edited message is not a new answer or command (editing an old message must not
    # become a hostname or a root password): only new messages are handled.
    new = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, track_user), group=-1)
    app.add_handler(CommandHandler(["start", "menu"], start.cmd_start, filters=new))
    app.add_handler(CommandHandler("help", start.cmd_help, filters=new))
    app.add_handler(CommandHandler("cancel", start.cmd_cancel, filters=new))
    app.add_handler(CommandHandler("language", start.cmd_language, filters=new))
    app.add_handler(CommandHandler("token", account.cmd_token, filters=new))
    app.add_handler(CommandHandler("logout", account.cmd_logout, filters=new))
    app.add_handler(CommandHandler("account", account.cmd_account, filters=new))
    app.add_handler(CommandHandler("projects", projects.cmd_projects, filters=new))
    app.add_handler(CallbackQueryHandler(base.route_callback))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, groups.on_migrate))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, base.route_text))
    app.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE, start.cmd_unknown))
    app.add_error_handler(on_error)

    app.job_queue.run_repeating(
        app.notifier.job, interval=settings.status_poll_seconds, first=settings.status_poll_seconds, name="notifier"
    )
    return app


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[BotApplication]:
    """Migrate the database, build and start the bot with long polling; stop on exit."""
    from bot.storage.migrate import upgrade

    logging_setup.protect_secret(settings.telegram_bot_token)
    logging_setup.quiet_libraries()
    await upgrade(settings.database_url)
    services = Services.build(settings)
    app = build_application(settings, services)
    try:
        await app.initialize()
        if app.post_init:  # run_polling() would call it; this start-up is done by hand
            await app.post_init(app)
        await app.start()
        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=settings.polling_timeout,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("bot @%s is running", app.bot.username)
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await services.close()
