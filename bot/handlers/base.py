"""What every handler shares: menu sessions, the Interaction object, the action and
text-input registries, and the one error boundary.

A *menu* is one bot message with an inline keyboard, owned by one user. Its state is a
plain dict in that user's `user_data["menus"][menu_id]`; the button's callback data
carries only the menu id, an action code and a short argument (see `bot.ui.callbacks`).
Whether a press is allowed is decided here, on the server side: the menu must exist in
the presser's own state and belong to the message that was pressed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

from telegram import ForceReply, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.i18n import Html, Translator, clean_text, normalize_language, translator
from bot.manageit import errors as api_errors
from bot.ui.callbacks import Callback, decode, new_menu_id, next_version
from bot.ui.keyboards import Screen, markup

if TYPE_CHECKING:
    from bot.actions.base import Account, Actor
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_MENUS_PER_USER = 30
ANSWER_MAX = 200  # characters Telegram allows in a callback answer
TYPING_AFTER = 1.0  # seconds of silence before "typing…" is shown
MAX_MENU_OWNERS = 20000

ActionFn = Callable[["Interaction", str], Awaitable[None]]
TextFn = Callable[["Interaction", str, Message], Awaitable[None]]


@dataclass(frozen=True)
class ActionSpec:
    fn: ActionFn
    # False: the query is answered (empty) when the handler shows something (ix.show(),
    # ix.send()) or, if it is slow, after TYPING_AFTER seconds — so the spinner never
    # lingers, and a handler can still answer with a text (e.g. "already done").
    # True: the handler answers itself, e.g. with an alert that needs an API call first.
    answers: bool


ACTIONS: dict[str, ActionSpec] = {}
TEXT_INPUTS: dict[str, TextFn] = {}
SECRET_INPUTS = {"token", "password"}  # prompts whose answer is a secret, deleted on arrival


def action(code: str, *, answers: bool = False):
    def deco(fn: ActionFn) -> ActionFn:
        if code in ACTIONS:
            raise RuntimeError(f"duplicate action {code}")
        ACTIONS[code] = ActionSpec(fn, answers)
        return fn

    return deco


def text_input(field: str):
    def deco(fn: TextFn) -> TextFn:
        TEXT_INPUTS[field] = fn
        return fn

    return deco


class NoAccount(Exception):
    """The user has no ManageIT token stored."""


class Interaction:
    """One update being handled: who, where, in which language, on which menu."""

    def __init__(self, update: Update, context: ContextTypes.DEFAULT_TYPE, menu_id: str | None = None):
        self.update = update
        self.context = context
        self.services: Services = context.application.services  # type: ignore[attr-defined]
        self.user = update.effective_user
        self.chat = update.effective_chat
        self.query = update.callback_query
        self._answered = False
        self.auto_answer = False  # answer the query before the first slow step
        self.menu_id = menu_id
        self.user_data: dict = context.user_data if context.user_data is not None else {}
        self.tr: Translator = translator(self.language)

    # -- who and where ------------------------------------------------------------
    @property
    def language(self) -> str:
        chosen = self.user_data.get("lang")
        if chosen:
            return chosen
        default = self.services.settings.default_language
        return normalize_language(self.user.language_code if self.user else None, default)

    def set_language(self, lang: str) -> None:
        self.user_data["lang"] = lang
        self.tr = translator(lang)

    @property
    def is_private(self) -> bool:
        return self.chat is not None and self.chat.type == ChatType.PRIVATE

    @property
    def actor(self) -> "Actor":
        from bot.actions.base import Actor

        return Actor(user_id=self.user.id, chat_id=self.chat.id)

    async def account(self) -> "Account":
        """The ManageIT account this chat acts with: the user's own token."""
        from bot.actions.base import load_account

        acct = await load_account(self.services, self.user.id)
        if acct is None:
            raise NoAccount()
        return acct

    # -- menus ----------------------------------------------------------------------
    @property
    def menus(self) -> dict[str, dict]:
        return self.user_data.setdefault("menus", {})

    @property
    def menu(self) -> dict:
        if self.menu_id is None or self.menu_id not in self.menus:
            self.menu_id = self._create_menu()
        return self.menus[self.menu_id]

    def _create_menu(self) -> str:
        menus = self.menus
        menu_id = new_menu_id()
        while menu_id in menus:
            menu_id = new_menu_id()
        menus[menu_id] = {"chat_id": self.chat.id, "message_id": None, "flow": {}, "ts": time.time()}
        while len(menus) > MAX_MENUS_PER_USER:
            oldest = min(menus, key=lambda k: menus[k]["ts"])
            menus.pop(oldest)
        owners: dict = self.context.bot_data.setdefault("menu_owners", {})
        owners[menu_id] = self.user.id
        if len(owners) > MAX_MENU_OWNERS:
            for key in list(owners)[: len(owners) - MAX_MENU_OWNERS]:
                owners.pop(key, None)
        return menu_id

    def new_menu(self) -> None:
        """Start a fresh menu message (e.g. /start), leaving older ones usable."""
        self.menu_id = None
        self.stop_awaiting()

    def forget_other_menus(self) -> None:
        """The account changed (new token, log-out): menus opened with the old one would act
        on projects of another account; their buttons now just say the menu expired."""
        current = self.menu_id
        for menu_id in [m for m in self.menus if m != current]:
            self.menus.pop(menu_id, None)
        awaiting = self.user_data.get("awaiting")
        if awaiting and awaiting.get("menu") != current:
            self.user_data.pop("awaiting", None)

    @property
    def flow(self) -> dict:
        return self.menu.setdefault("flow", {})

    def start_flow(self, name: str, **data) -> dict:
        self.menu["flow"] = {"name": name, **data}
        return self.menu["flow"]

    def end_flow(self) -> None:
        self.menu["flow"] = {}
        self.stop_awaiting()

    # -- text prompts -----------------------------------------------------------------
    def await_text(self, field: str) -> None:
        self.user_data["awaiting"] = {"menu": self.menu_id or self._menu_id_now(), "field": field, "chat_id": self.chat.id}

    def _menu_id_now(self) -> str:
        _ = self.menu
        return self.menu_id  # type: ignore[return-value]

    def stop_awaiting(self) -> None:
        awaiting = self.user_data.get("awaiting")
        if awaiting and (self.menu_id is None or awaiting.get("menu") == self.menu_id):
            self.user_data.pop("awaiting", None)

    # -- output -------------------------------------------------------------------------
    async def _answer_before_work(self) -> None:
        if self.auto_answer and not self._answered:
            await self.answer()

    @property
    def answered(self) -> bool:
        """Whether this press has been answered already (a later answer shows nothing)."""
        return self._answered

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        if self.query is None or self._answered:
            return
        self._answered = True
        if text and len(text) > ANSWER_MAX:  # callers keep answers short; never cut silently
            log.warning("callback answer of %d characters shortened", len(text))
            text = text[: ANSWER_MAX - 1] + "…"
        try:
            await self.query.answer(text=text or None, show_alert=alert)
        except TelegramError as exc:  # an old query: nothing to do
            log.debug("answerCallbackQuery failed: %s", exc)

    async def show(self, screen: Screen, *, new: bool = False) -> None:
        """Show a screen on this menu: edit its message, or send a new one."""
        menu = self.menu
        version = next_version(menu.get("v"))  # buttons of the screen this one replaces stop working
        keyboard = markup(self.menu_id, screen.rows, version)  # type: ignore[arg-type]
        message_id = menu.get("message_id")
        fingerprint = _screen_fingerprint(screen)
        if message_id and not new and menu.get("chat_id") == self.chat.id:
            if menu.get("shown") == fingerprint:  # Telegram would refuse an edit that changes nothing
                await self.answer(self.tr.plain("callback.up_to_date"))
                return
            await self._answer_before_work()
            try:
                await self.context.bot.edit_message_text(
                    chat_id=self.chat.id,
                    message_id=message_id,
                    text=screen.text,
                    reply_markup=keyboard,
                )
                menu["shown"] = fingerprint
                menu["v"] = version
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                log.info("could not edit menu message, sending a new one: %s", exc)
        await self._answer_before_work()
        if message_id and new:
            await self.strip_keyboard(message_id)
        sent = await self.context.bot.send_message(
            chat_id=self.chat.id,
            text=screen.text,
            reply_markup=keyboard,
        )
        menu["message_id"] = sent.message_id
        menu["chat_id"] = self.chat.id
        menu["shown"] = fingerprint
        menu["v"] = version
        menu["ts"] = time.time()

    async def strip_keyboard(self, message_id: int) -> None:
        try:
            await self.context.bot.edit_message_reply_markup(chat_id=self.chat.id, message_id=message_id, reply_markup=None)
        except TelegramError:
            pass

    async def send(self, text: str, *, force_reply: bool = False) -> Message | None:
        """A plain message outside any menu (notices, prompts)."""
        await self._answer_before_work()
        try:
            return await self.context.bot.send_message(
                chat_id=self.chat.id,
                text=text,
                reply_markup=ForceReply(selective=True) if force_reply else None,
            )
        except Forbidden:
            return None

    async def delete(self, message: Message | None) -> bool:
        if message is None:
            return False
        try:
            await message.delete()
            return True
        except TelegramError as exc:
            log.info("could not delete a message in chat %s: %s", self.chat.id if self.chat else "?", exc)
            return False

    def mention(self) -> str:
        import html

        name = html.escape(clean_text(self.user.first_name or "").strip() or str(self.user.id), quote=False)
        return self.tr.isolate(f'<a href="tg://user?id={self.user.id}">{name}</a>')


def _screen_fingerprint(screen: Screen) -> str:
    import hashlib

    parts = [screen.text] + [f"{b.label}\x1f{b.action}\x1f{b.arg}" for row in screen.rows for b in row]
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:16]


# -- the error boundary ----------------------------------------------------------------
def error_key(exc: BaseException) -> tuple[str, dict]:
    """Map an exception to a message key and its values."""
    from bot.actions.base import OutcomeUnknown, TokenUnreadable

    if isinstance(exc, NoAccount):
        return "error.no_token", {}
    if isinstance(exc, TokenUnreadable):
        return "error.token_unreadable", {}
    if isinstance(exc, OutcomeUnknown):
        return "error.outcome_unknown", {"name": exc.name}
    if isinstance(exc, api_errors.InvalidToken):
        return "error.invalid_token", {}
    if isinstance(exc, api_errors.ValidationFailed):
        return "error.validation", {}
    if isinstance(exc, api_errors.Throttled):
        return "error.throttled", {"seconds": int(round(exc.retry_after))}
    if isinstance(exc, api_errors.RequestTimeout):
        return "error.timeout", {}
    if isinstance(exc, api_errors.NetworkError):
        return "error.network", {}
    if isinstance(exc, api_errors.NotFound):
        return "error.not_found", {}
    if isinstance(exc, api_errors.ServerError):
        return "error.server", {}
    if isinstance(exc, api_errors.ManageITError):
        return "error.api", {}
    return "error.internal", {}


def validation_lines(exc: BaseException) -> list[str]:
    if isinstance(exc, api_errors.ValidationFailed):
        lines = [msg for msgs in (exc.errors or {}).values() for msg in msgs]
        return lines or ([exc.message] if exc.message else [])
    return []


async def route_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The single CallbackQueryHandler: decode, check the presser, dispatch."""
    query = update.callback_query
    cb: Callback | None = decode(query.data)
    ix = Interaction(update, context, None)
    if cb is None or (cb.action not in ACTIONS and cb.action != "noop"):
        await ix.answer(ix.tr.plain("callback.invalid"))
        return
    menu = ix.menus.get(cb.menu)
    message = query.message
    if menu is None or message is None or menu.get("message_id") != message.message_id or menu.get("chat_id") != message.chat.id:
        owner = context.bot_data.get("menu_owners", {}).get(cb.menu)
        if owner is not None and owner != ix.user.id:
            await ix.answer(ix.tr.plain("callback.not_yours"), alert=True)
        else:
            await ix.answer(ix.tr.plain("callback.expired"))
        return
    ix.menu_id = cb.menu
    if cb.action == "noop":
        await ix.answer()
        return
    if cb.version != menu.get("v"):  # pressed on a screen already replaced: a double tap
        await ix.answer(ix.tr.plain("callback.stale"))
        return
    spec = ACTIONS[cb.action]
    ix.auto_answer = not spec.answers  # answered first, before any slow work
    menu["ts"] = time.time()
    await run_guarded(ix, spec.fn(ix, cb.arg))
    await ix.answer()  # in case the handler forgot


async def route_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text: the answer to a prompt this user is waiting on, or a hint."""
    message = update.effective_message
    ix = Interaction(update, context, None)
    from bot.handlers.groups import looks_like_token

    text = message.text or ""
    awaiting = ix.user_data.get("awaiting")
    if awaiting and awaiting.get("chat_id") == ix.chat.id and awaiting.get("menu") in ix.menus:
        field = awaiting.get("field", "")
        fn = TEXT_INPUTS.get(field)
        if fn is not None:
            if field not in SECRET_INPUTS and looks_like_token(text, at_prompt=True):
                # A token pasted at the wrong prompt must not become a name and be echoed
                # (or logged in the audit trail): remove it; the prompt stays open.
                await refuse_token(ix, message)
                return
            ix.menu_id = awaiting["menu"]
            await run_guarded(ix, fn(ix, text, message))
            return
    if looks_like_token(text):
        await refuse_token(ix, message)
        return
    if ix.is_private:
        await ix.send(ix.tr.t("hint.use_menu"))
    elif _replies_to_the_bot(ix, message):
        # a reply to a question that was someone else's, or is closed: never silence
        await ix.send(ix.tr.t("hint.not_your_prompt", user=Html(ix.mention())))


def _replies_to_the_bot(ix: Interaction, message: Message) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == ix.context.bot.id


async def refuse_token(ix: Interaction, message: Message | None) -> None:
    """A message that looks like a token, outside /token: delete it and say so truly."""
    deleted = await ix.delete(message)
    if ix.is_private:
        text = ix.tr.t("token.use_command" if deleted else "token.not_deleted")
    else:
        text = ix.tr.t("token.group_refused") + "\n" + ix.tr.t("token.deleted_in_group" if deleted else "token.not_deleted")
    await ix.send(text)


async def run_guarded(ix: Interaction, coro: Awaitable[None]) -> None:
    """Run a handler; any failure ends in a localized message with a way back.

    While a handler is slow (an API call that takes long), the chat shows "typing…"."""
    typing = asyncio.create_task(_typing_while_slow(ix))
    try:
        await coro
    except Exception as exc:  # the boundary: nothing reaches the chat as a traceback
        await show_error(ix, exc)
    finally:
        typing.cancel()


async def _typing_while_slow(ix: Interaction) -> None:
    try:
        await asyncio.sleep(TYPING_AFTER)
        while True:
            await ix._answer_before_work()
            await ix.context.bot.send_chat_action(chat_id=ix.chat.id, action=ChatAction.TYPING)
            await asyncio.sleep(4.5)  # Telegram shows it for about 5 s
    except asyncio.CancelledError:
        raise
    except Exception:  # best effort only
        return


async def show_error(ix: Interaction, exc: BaseException) -> None:
    from bot.ui import render

    from bot.actions.base import OutcomeUnknown, TokenUnreadable

    if not isinstance(exc, (api_errors.ManageITError, NoAccount, TokenUnreadable, OutcomeUnknown)):
        log.exception("handler failed", exc_info=exc)
    key, values = error_key(exc)
    final = (api_errors.NotFound, api_errors.InvalidToken, NoAccount, TokenUnreadable, OutcomeUnknown)
    retry = None if isinstance(exc, final) else ix.menu.get("last_view")
    # with the time of the failure: a Retry that fails alike still visibly happened
    at = datetime.now(timezone.utc) if retry else None
    screen = render.error_screen(ix.tr, key, values, validation_lines(exc), retry=retry, at=at)
    await ix.answer()
    try:
        await ix.show(screen)
    except TelegramError:
        log.exception("could not show the error screen")
