"""A Telegram Bot API emulator for tests and the sandbox.

An aiohttp application serving the Bot API at ``{base}/bot<token>/<method>``
so that a real python-telegram-bot ``Application`` configured with
``base_url=f"{emulator_url}/bot"`` talks to it exactly as it would to Telegram,
plus a JSON control API under ``/control/`` through which tests (and later a
browser chat page) act as users: send messages, press inline buttons, read the
transcript, see every refused call.

The emulator enforces the limits and refusals described in
``/work/shared/telegram-limits.md`` with Telegram's real error descriptions,
so that a test fails where real Telegram would refuse.

Run standalone: ``python -m bot.sandbox.telegram --port 8082``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import html as html_lib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot.sandbox.telegram_client import EmulatorControl
from bot.sandbox.telegram_html import (
    HTMLParseError,
    detect_entities,
    with_detected_entities,
    parse_html,
    trim_text,
    utf16_len,
)

__all__ = [
    "EMULATOR_STATE",
    "ApiError",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorState",
    "RunningEmulator",
    "create_telegram_emulator_app",
    "run_emulator",
    "start_emulator",
]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
EVENT_BUFFER = 2000  # events kept for a chat page that reconnects
EVENT_KEEPALIVE = 15.0  # seconds between comments on an idle event stream
CHAT_PAGE_DIR = Path(__file__).with_name("chat_page")
_PAGE_ASSETS = {
    "index.html": "text/html",
    "style.css": "text/css",
    "app.js": "text/javascript",
}
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # everything the page needs comes from here: no CDN, no fonts, no download at run time
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a content and reply markup of the current message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# update types delivered when allowed_updates is empty / never set
_DEFAULT_UPDATE_TYPES = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
}

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


# ---------------------------------------------------------------------------
# configuration and state
# ---------------------------------------------------------------------------


@dataclass
class EmulatorConfig:
    bot_token: str = "123456:TEST-token-for-the-emulator-only"
    bot_username: str = "manageit_test_bot"
    bot_id: int = 123456  # must equal the token's numeric prefix
    bot_first_name: str = "ManageIT Test Bot"
    privacy_mode: bool = True  # in groups deliver only commands, replies to the bot, mentions
    rate_limits: bool = True  # enforce per-chat/group/global send limits
    per_chat_burst: int = 10  # token bucket: burst per chat, refilled 1 msg/s
    group_per_minute: int = 20
    global_per_second: int = 30
    # fault injection: the next `fail_next` calls of `fail_method` answer `fail_status`
    # (500: PTB raises NetworkError, a transient failure) without doing anything; each
    # such call is listed in /control/errors like any refused call
    fail_next: int = 0
    fail_method: str = "sendMessage"
    fail_status: int = 500

    def __post_init__(self) -> None:
        prefix = self.bot_token.split(":", 1)[0]
        if not prefix.isdigit() or int(prefix) != self.bot_id:
            raise ValueError("EmulatorConfig.bot_id must equal the numeric prefix of bot_token")


# switches that POST /control/config may change at run time
_RUNTIME_SWITCHES = {
    "privacy_mode": bool,
    "rate_limits": bool,
    "per_chat_burst": int,
    "group_per_minute": int,
    "global_per_second": int,
    "fail_next": int,
    "fail_method": str,
    "fail_status": int,
}


class ApiError(Exception):
    """A refusal of a Bot API call, rendered as Telegram's error JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    blocked_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    def to_control(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "is_bot": False,
            "blocked_bot": self.blocked_bot,
        }


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    username: str | None = None
    members: list[int] = field(default_factory=list)
    admins: list[int] = field(default_factory=list)
    owner_id: int | None = None
    bot_is_admin: bool = False
    bot_is_member: bool = True
    instance: str = ""  # chat_instance sent with callback queries

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_control(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "username": self.username,
            "members": list(self.members),
            "admins": list(self.admins),
            "owner_id": self.owner_id,
            "bot_is_admin": self.bot_is_admin,
            "bot_is_member": self.bot_is_member,
        }


@dataclass
class Message:
    chat_id: int
    message_id: int
    from_bot: bool
    user_id: int  # the sender: the bot's id for bot messages
    text: str
    html: str
    entities: list[dict[str, Any]]
    date: int
    reply_markup: dict[str, Any] | None = None  # inline keyboard only (shown on the message)
    keyboard_markup: dict[str, Any] | None = None  # ForceReply / ReplyKeyboard* sent along
    reply_to_message_id: int | None = None
    deleted: bool = False
    edit_count: int = 0
    edit_date: int | None = None
    delivered: bool | None = None  # user messages: was an update queued for the bot

    @property
    def force_reply(self) -> bool:
        return bool(self.keyboard_markup and self.keyboard_markup.get("force_reply"))

    def buttons(self) -> list[list[dict[str, Any]]] | None:
        if not self.reply_markup:
            return None
        rows = []
        for row in self.reply_markup.get("inline_keyboard", []):
            out_row = []
            for button in row:
                b: dict[str, Any] = {"text": button.get("text", "")}
                for key in _INLINE_BUTTON_ACTIONS:
                    if key in button:
                        b[key] = button[key]
                out_row.append(b)
            rows.append(out_row)
        return rows

    def to_control(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "user_id": self.user_id,
            "text": self.text,
            "html": self.html,
            "entities": self.entities,
            "buttons": self.buttons(),
            "force_reply": self.force_reply,
            "keyboard_markup": self.keyboard_markup,
            "deleted": self.deleted,
            "edited": self.edit_count > 0,
            "edit_count": self.edit_count,
            "reply_to_message_id": self.reply_to_message_id,
            "date": self.date,
            "delivered": self.delivered,
        }


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    update_id: int
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None

    def to_control(self) -> dict[str, Any]:
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


def _now() -> int:
    return int(time.time())


class EmulatorState:
    """Everything the emulator knows; reachable as ``app[EMULATOR_STATE]``."""

    def __init__(self, config: EmulatorConfig):
        self.initial_config = dataclasses.replace(config)
        self.config = config
        # counters that survive reset() so a running bot's getUpdates offset stays valid
        self.next_update_id = 1
        self.next_callback_seq = 1
        self.epoch = 0  # bumped by reset()/close(): wakes and ends long polls
        self.poll_generation = 0
        self.closing = False
        self._update_event = asyncio.Event()
        # what the chat page is told: survives reset() so a page can catch up by id
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENT_BUFFER)
        self.next_event_id = 1
        self._event_signal = asyncio.Event()
        # free-form facts the chat page shows beside the chats (set by the demo)
        self.page_info: dict[str, Any] = {}
        self._clear()

    def _clear(self) -> None:
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.next_message_id: dict[int, int] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self.callbacks: dict[str, CallbackQuery] = {}
        self.errors: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.bot_texts: dict[str, dict[str, str]] = {}
        self.webhook_url = ""
        self._reset_rates()

    def _reset_rates(self) -> None:
        self.chat_buckets: dict[int, tuple[float, float]] = {}
        self.group_sends: dict[int, collections.deque[float]] = {}
        self.global_sends: collections.deque[float] = collections.deque()

    def reset(self, keep_config: bool = False) -> None:
        self._clear()
        if not keep_config:
            self.config = dataclasses.replace(self.initial_config)
        self.epoch += 1
        self.notify()
        self.announce("reset")

    def close(self) -> None:
        self.closing = True
        self.epoch += 1
        self.notify()
        self._wake_listeners()

    # -- events for the chat page -----------------------------------------
    def announce(self, kind: str, **payload: Any) -> dict[str, Any]:
        """Record an event (new/edited/deleted message, callback answer, ...) and wake listeners."""
        event = {"id": self.next_event_id, "type": kind, "time": time.time(), **payload}
        self.next_event_id += 1
        self.events.append(event)
        self._wake_listeners()
        return event

    def announce_message(self, kind: str, msg: "Message") -> None:
        self.announce(kind, chat_id=msg.chat_id, message=msg.to_control())

    def _wake_listeners(self) -> None:
        self._event_signal.set()
        self._event_signal = asyncio.Event()

    def events_after(self, last_id: int) -> list[dict[str, Any]] | None:
        """Events with an id above ``last_id``; None when some were already dropped."""
        if last_id >= self.next_event_id - 1:
            return []
        if not self.events or self.events[0]["id"] > last_id + 1:
            return None
        return [e for e in self.events if e["id"] > last_id]

    async def wait_for_event(self, last_id: int, timeout: float) -> None:
        """Return when an event after ``last_id`` exists, the emulator closes, or time is up."""
        if self.next_event_id - 1 > last_id or self.closing:
            return
        signal = self._event_signal
        try:
            await asyncio.wait_for(signal.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # -- long-poll wake-ups ------------------------------------------------
    def notify(self) -> None:
        self._update_event.set()
        self._update_event = asyncio.Event()

    # -- bot identity ----------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.config.bot_id,
            "is_bot": True,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        }

    # -- users and chats -------------------------------------------------
    def ensure_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> User:
        user = self.users.get(user_id)
        if user is None:
            user = User(id=user_id, first_name=first_name or f"User {user_id}")
            self.users[user_id] = user
        if first_name:
            user.first_name = first_name
        if username is not None:
            user.username = username or None
        if language_code is not None:
            user.language_code = language_code or None
        if last_name is not None:
            user.last_name = last_name or None
        return user

    def ensure_private_chat(self, user_id: int) -> Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            self.ensure_user(user_id)
            chat = Chat(id=user_id, type="private", instance=self._chat_instance(user_id))
            self.chats[user_id] = chat
        return chat

    def upsert_chat(self, data: dict[str, Any]) -> Chat:
        chat_id = int(data["id"])
        chat_type = data.get("type") or ("private" if chat_id > 0 else "group")
        if chat_type not in ("private", "group", "supergroup"):
            raise ControlError(400, f"unsupported chat type {chat_type!r}")
        if chat_type == "private":
            if chat_id <= 0:
                raise ControlError(400, "a private chat's id is the user's (positive) id")
            self.ensure_user(chat_id)
            chat = self.ensure_private_chat(chat_id)
            return chat
        if chat_id >= 0:
            raise ControlError(400, "group and supergroup ids must be negative")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(id=chat_id, type=chat_type, instance=self._chat_instance(chat_id))
            self.chats[chat_id] = chat
        chat.type = chat_type
        if "title" in data or chat.title is None:
            chat.title = data.get("title") or chat.title or f"Group {abs(chat_id)}"
        if "username" in data:
            chat.username = data["username"] or None
        if "members" in data:
            chat.members = [int(u) for u in data["members"]]
        if "admins" in data:
            chat.admins = [int(u) for u in data["admins"]]
        if "owner_id" in data:
            chat.owner_id = int(data["owner_id"]) if data["owner_id"] is not None else None
        for key in ("bot_is_admin", "bot_is_member"):
            if key in data:
                setattr(chat, key, bool(data[key]))
        for uid in [*chat.members, *chat.admins, *([chat.owner_id] if chat.owner_id else [])]:
            self.ensure_user(uid)
            if uid not in chat.members:
                chat.members.append(uid)
        return chat

    def _chat_instance(self, chat_id: int) -> str:
        return str(abs(hash(("chat_instance", chat_id))) % 10**18 + 10**18)

    def chat_to_api(self, chat: Chat) -> dict[str, Any]:
        if chat.type == "private":
            user = self.users[chat.id]
            d: dict[str, Any] = {"id": chat.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                d["last_name"] = user.last_name
            if user.username:
                d["username"] = user.username
            return d
        d = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.username:
            d["username"] = chat.username
        return d

    # -- messages --------------------------------------------------------
    def add_message(self, chat: Chat, **kwargs: Any) -> Message:
        mid = self.next_message_id.get(chat.id, 1)
        self.next_message_id[chat.id] = mid + 1
        msg = Message(chat_id=chat.id, message_id=mid, date=_now(), **kwargs)
        self.messages.setdefault(chat.id, {})[mid] = msg
        return msg

    def get_message(self, chat_id: int, message_id: int) -> Message | None:
        return self.messages.get(chat_id, {}).get(message_id)

    def message_to_api(self, msg: Message, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        sender = self.bot_user() if msg.from_bot else self.users[msg.user_id].to_api()
        d: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": sender,
            "chat": self.chat_to_api(chat),
            "date": msg.date,
        }
        if with_reply and msg.reply_to_message_id is not None:
            replied = self.get_message(msg.chat_id, msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                d["reply_to_message"] = self.message_to_api(replied, with_reply=False)
        if msg.edit_date is not None:
            d["edit_date"] = msg.edit_date
        d["text"] = msg.text
        if msg.entities:
            d["entities"] = msg.entities
        if msg.reply_markup:
            d["reply_markup"] = msg.reply_markup
        return d

    # -- updates ---------------------------------------------------------
    def enqueue_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.notify()
        return update_id

    def confirm_updates(self, offset: int) -> None:
        if offset < 0:
            self.updates = self.updates[offset:] if -offset < len(self.updates) else self.updates
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def available_updates(self, limit: int) -> list[dict[str, Any]]:
        allowed = set(self.allowed_updates) if self.allowed_updates else _DEFAULT_UPDATE_TYPES
        kept = []
        for update in self.updates:
            kind = next(k for k in update if k != "update_id")
            if kind in allowed:
                kept.append(update)
        self.updates = kept  # updates of a type the bot did not ask for are dropped
        return kept[:limit]

    # -- bookkeeping -----------------------------------------------------
    def record_call(self, method: str, chat_id: Any) -> dict[str, Any]:
        entry = {"method": method, "chat_id": chat_id, "time": time.time(), "ok": True}
        self.calls.append(entry)
        return entry

    def record_error(self, method: str, chat_id: Any, err: ApiError) -> None:
        self.errors.append(
            {
                "method": method,
                "chat_id": chat_id,
                "error_code": err.code,
                "description": err.description,
                "retry_after": err.retry_after,
                "time": time.time(),
            }
        )

    # -- rate limits -----------------------------------------------------
    def check_rate(self, chat: Chat) -> None:
        """Raise 429 if sending to ``chat`` now would exceed a limit; else count it."""
        cfg = self.config
        if not cfg.rate_limits:
            return
        now = time.monotonic()
        waits: list[float] = []
        burst = max(cfg.per_chat_burst, 1)
        tokens, last = self.chat_buckets.get(chat.id, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last))  # refilled 1 msg/s
        if tokens < 1.0:
            waits.append(1.0 - tokens)
        group_window = None
        if chat.is_group:
            group_window = self.group_sends.setdefault(chat.id, collections.deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= cfg.group_per_minute:
                waits.append(group_window[0] + 60.0 - now)
        while self.global_sends and self.global_sends[0] <= now - 1.0:
            self.global_sends.popleft()
        if len(self.global_sends) >= cfg.global_per_second:
            waits.append(self.global_sends[0] + 1.0 - now)
        if waits:
            self.chat_buckets[chat.id] = (tokens, now)
            retry = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        self.chat_buckets[chat.id] = (tokens - 1.0, now)
        if group_window is not None:
            group_window.append(now)
        self.global_sends.append(now)

    # -- user actions (control API) -------------------------------------
    def user_send(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        user = self.ensure_user(user_id, language_code=language_code)
        chat = self._user_chat(chat_id, user)
        if not text or not text.strip():
            raise ControlError(400, "message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise ControlError(400, "message is too long")
        replied = None
        if reply_to_message_id is not None:
            replied = self.get_message(chat.id, int(reply_to_message_id))
            if replied is None or replied.deleted:
                raise ControlError(404, f"message {reply_to_message_id} not found in chat {chat.id}")
        if chat.type == "private":
            user.blocked_bot = False  # writing to a bot means having (re)started it
        entities = detect_entities(text)
        msg = self.add_message(
            chat,
            from_bot=False,
            user_id=user.id,
            text=text,
            html=html_lib.escape(text, quote=False),
            entities=entities,
            reply_to_message_id=replied.message_id if replied else None,
        )
        msg.delivered = self._deliverable(chat, msg, replied)
        self.announce_message("message", msg)
        update_id = None
        if msg.delivered:
            update_id = self.enqueue_update("message", self.message_to_api(msg))
        return {
            "message_id": msg.message_id,
            "chat_id": chat.id,
            "update_id": update_id,
            "delivered": msg.delivered,
        }

    def user_edit(self, chat_id: int, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        """A user edits one of their own messages: Telegram sends an ``edited_message``."""
        user = self.ensure_user(user_id)
        chat = self._user_chat(chat_id, user)
        msg = self.get_message(chat.id, int(message_id))
        if msg is None or msg.deleted or msg.from_bot or msg.user_id != user.id:
            raise ControlError(404, f"no message {message_id} of user {user_id} in chat {chat.id}")
        if not text or not text.strip() or len(text) > MAX_MESSAGE_LENGTH:
            raise ControlError(400, "message text is empty or too long")
        msg.text, msg.entities, msg.html = text, detect_entities(text), html_lib.escape(text, quote=False)
        msg.edit_count += 1
        msg.edit_date = _now()
        self.announce_message("edited", msg)
        update_id = self.enqueue_update("edited_message", self.message_to_api(msg)) if msg.delivered else None
        return {"message_id": msg.message_id, "chat_id": chat.id, "update_id": update_id}

    def _user_chat(self, chat_id: int, user: User) -> Chat:
        if chat_id > 0:
            if chat_id != user.id:
                raise ControlError(400, "in a private chat chat_id must equal user_id")
            return self.ensure_private_chat(user.id)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"chat {chat_id} not found; create it with POST /control/chats")
        if user.id not in chat.members:
            chat.members.append(user.id)
        return chat

    def _deliverable(self, chat: Chat, msg: Message, replied: Message | None) -> bool:
        if not chat.is_group:
            return True
        if not chat.bot_is_member:
            return False
        if not self.config.privacy_mode:
            return True
        if replied is not None and replied.from_bot:
            return True
        me = self.config.bot_username.lower()
        units = msg.text.encode("utf-16-le")
        for e in msg.entities:
            piece = units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            if e["type"] == "bot_command":
                _, _, target = piece.partition("@")
                if not target or target.lower() == me:
                    return True
            elif e["type"] == "mention" and piece[1:].lower() == me:
                return True
        return False

    def press(
        self,
        chat_id: int,
        user_id: int,
        label: str | None = None,
        data: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        user = self.ensure_user(user_id)
        chat = self._user_chat(chat_id, user)
        msgs = self.messages.get(chat.id, {})
        if label is None and data is None:
            raise ControlError(400, "give either label or data")
        if message_id is not None:
            msg = msgs.get(int(message_id))
            if msg is None or msg.deleted:
                raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
            candidates = [msg]
        else:
            candidates = [m for m in reversed(list(msgs.values())) if not m.deleted]
        if label is not None:
            for msg in candidates:
                for row in (msg.reply_markup or {}).get("inline_keyboard", []):
                    for button in row:
                        if button.get("text") != label:
                            continue
                        if "callback_data" not in button:
                            raise ControlError(
                                400, f"button {label!r} has no callback_data (it is a link button)"
                            )
                        return self._callback(chat, user, msg, button["callback_data"])
            raise ControlError(404, f"no button labelled {label!r} in chat {chat.id}")
        assert data is not None
        for msg in candidates:
            if msg.from_bot or message_id is not None:
                return self._callback(chat, user, msg, data)
        raise ControlError(404, f"no bot message in chat {chat.id}")

    def _callback(self, chat: Chat, user: User, msg: Message, data: str) -> dict[str, Any]:
        cq_id = str(4_000_000_000_000_000_000 + self.next_callback_seq)
        self.next_callback_seq += 1
        payload = {
            "id": cq_id,
            "from": user.to_api(),
            "message": self.message_to_api(msg),
            "chat_instance": chat.instance,
            "data": data,
        }
        update_id = self.enqueue_update("callback_query", payload)
        query = self.callbacks[cq_id] = CallbackQuery(
            id=cq_id,
            user_id=user.id,
            chat_id=chat.id,
            message_id=msg.message_id,
            data=data,
            created=time.time(),
            update_id=update_id,
        )
        self.announce("callback_query", chat_id=chat.id, query=query.to_control())
        return {"callback_query_id": cq_id, "update_id": update_id, "message_id": msg.message_id}

    def transcript(self, chat_id: int) -> list[dict[str, Any]]:
        return [m.to_control() for m in self.messages.get(chat_id, {}).values()]


EMULATOR_STATE: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)


# ---------------------------------------------------------------------------
# parameter helpers
# ---------------------------------------------------------------------------


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return params
    ctype = request.content_type
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            # uploaded files are accepted and ignored
        return params
    raw = await request.read()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _bad("can't parse JSON request body") from exc
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        params.update(body)
    return params


def _present(params: dict[str, Any], name: str) -> bool:
    return params.get(name) not in (None, "")


def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None


def _float(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")


def _json(params: dict[str, Any], name: str, error: str | None = None) -> Any:
    value = params.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error or f"can't parse {name} JSON object") from None
    return value


def _str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


# ---------------------------------------------------------------------------
# Bot API methods
# ---------------------------------------------------------------------------

Handler = Callable[[EmulatorState, dict[str, Any], web.Request], Awaitable[Any]]
_METHODS: dict[str, Handler] = {}


def _method(*names: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for name in names:
            _METHODS[name.lower()] = func
        return func

    return register


def _resolve_chat(state: EmulatorState, params: dict[str, Any]) -> Chat:
    raw = params.get("chat_id")
    if raw in (None, ""):
        raise _bad("chat_id is empty")
    if isinstance(raw, str) and raw.startswith("@"):
        for chat in state.chats.values():
            if chat.username and chat.username.lower() == raw[1:].lower():
                return chat
        raise _bad("chat not found")
    try:
        chat_id = int(raw)
    except (TypeError, ValueError):
        raise _bad("chat not found") from None
    chat = state.chats.get(chat_id)
    if chat is None:
        if chat_id in state.users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        raise _bad("chat not found")
    return chat


def _check_reachable(state: EmulatorState, chat: Chat) -> None:
    if chat.type == "private":
        if state.users[chat.id].blocked_bot:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
    elif not chat.bot_is_member:
        raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")


def _formatted_text(
    params: dict[str, Any], for_edit: bool = False
) -> tuple[str, list[dict[str, Any]], str]:
    """(plain text, entities, html) of the ``text`` parameter."""
    source = _str(params, "text")
    if source is None or source == "":
        raise _bad("message text is empty")
    parse_mode = (_str(params, "parse_mode") or "").strip()
    if parse_mode.lower() == "html":
        try:
            text, entities = parse_html(source)
        except HTMLParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        html_source = source
    elif parse_mode:
        if parse_mode.lower() in ("markdown", "markdownv2"):
            raise _bad(
                f"can't parse entities: parse_mode {parse_mode} is not implemented by the "
                "emulator; the bot is expected to use HTML"
            )
        raise _bad(f"unsupported parse_mode")
    else:
        text = source
        entities = _json(params, "entities", "can't parse entities JSON object") or []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        html_source = html_lib.escape(source, quote=False)
    text, entities = trim_text(text, entities)
    if not text:
        raise _bad("message text is empty")
    entities = with_detected_entities(text, entities)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise _bad("MESSAGE_TOO_LONG" if for_edit else "message is too long")
    return text, entities, html_source


def _validate_inline_keyboard(markup: Any) -> dict[str, Any]:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad("can't parse inline keyboard button: field \"inline_keyboard\" must be an Array of Arrays")
    total = 0
    clean_rows = []
    for row in rows:
        clean_row = []
        for button in row:
            if not isinstance(button, dict):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _bad("BUTTON_TEXT_INVALID" if isinstance(text, str) else
                           "can't parse inline keyboard button: Field \"text\" must be of type String")
            actions = [k for k in _INLINE_BUTTON_ACTIONS if button.get(k) is not None]
            if not actions:
                raise _bad("text buttons are unallowed in the inline keyboard")
            if "callback_data" in actions:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise _bad("can't parse inline keyboard button: Field \"callback_data\" must be of type String")
                if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in actions:
                url = button["url"]
                if not isinstance(url, str) or not url or re.search(r"\s", url):
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
            clean_row.append({k: v for k, v in button.items() if v is not None})
            total += 1
        if len(row) > 8:
            raise _bad("BUTTONS_TOO_WIDE")
        clean_rows.append(clean_row)
    if total > 100:
        raise _bad("BUTTONS_TOO_MUCH")
    return {"inline_keyboard": clean_rows}


def _reply_markup(
    params: dict[str, Any], inline_only: bool = False
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(inline keyboard, other keyboard markup) from the reply_markup parameter."""
    markup = _json(params, "reply_markup", "can't parse reply keyboard markup JSON object")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        keyboard = _validate_inline_keyboard(markup)
        return (keyboard if keyboard["inline_keyboard"] else None), None
    if inline_only:
        raise _bad("REPLY_MARKUP_INVALID: only an inline keyboard can be set by this method")
    if markup.get("force_reply") is True or markup.get("remove_keyboard") is True:
        placeholder = markup.get("input_field_placeholder")
        if placeholder is not None and len(str(placeholder)) > 64:
            raise _bad("input field placeholder is too long")
        return None, {k: v for k, v in markup.items() if v is not None}
    if isinstance(markup.get("keyboard"), list):
        return None, {k: v for k, v in markup.items() if v is not None}
    raise _bad("can't parse reply keyboard markup JSON object")


def _message_for(state: EmulatorState, params: dict[str, Any], action: str) -> tuple[Chat, Message]:
    if _present(params, "inline_message_id"):
        raise _bad("MESSAGE_ID_INVALID (inline messages are not supported by the emulator)")
    chat = _resolve_chat(state, params)
    message_id = _int(params, "message_id")
    if message_id is None:
        raise _bad("message identifier is not specified")
    msg = state.get_message(chat.id, message_id)
    if msg is None or msg.deleted:
        raise _bad(f"message to {action} not found")
    return chat, msg


@_method("getMe")
async def _get_me(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return {
        **state.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": not state.config.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@_method("logOut", "close")
async def _harmless(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return True


@_method("deleteWebhook")
async def _delete_webhook(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    state.webhook_url = ""
    if _bool(params, "drop_pending_updates"):
        state.updates.clear()
    return True


@_method("setWebhook")
async def _set_webhook(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    state.webhook_url = _str(params, "url") or ""
    if _bool(params, "drop_pending_updates"):
        state.updates.clear()
    return True


@_method("getWebhookInfo")
async def _get_webhook_info(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return {
        "url": state.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }


@_method("getUpdates")
async def _get_updates(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    if state.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = _int(params, "offset")
    limit = min(max(_int(params, "limit", 100) or 100, 1), 100)
    timeout = max(_float(params, "timeout", 0.0), 0.0)
    allowed = _json(params, "allowed_updates", "can't parse allowed_updates JSON array")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed_updates JSON array")
        state.allowed_updates = [str(a) for a in allowed]
    if offset is not None:
        state.confirm_updates(offset)
    state.poll_generation += 1
    generation = state.poll_generation
    epoch = state.epoch
    state.notify()  # ends an older long poll with 409 Conflict
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if state.epoch != epoch or state.closing:
            return []
        if state.poll_generation != generation:
            transport = request.transport
            if transport is None or transport.is_closing():
                return []  # the client already went away: nobody to tell
            raise ApiError(409, GET_UPDATES_CONFLICT)
        updates = state.available_updates(limit)
        remaining = deadline - loop.time()
        if updates or remaining <= 0:
            return updates
        event = state._update_event
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except asyncio.TimeoutError:
            pass


@_method("sendMessage")
async def _send_message(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    _check_reachable(state, chat)
    text, entities, html_source = _formatted_text(params)
    inline, other = _reply_markup(params)
    reply_to = None
    reply_parameters = _json(params, "reply_parameters", "can't parse reply parameters JSON object")
    allow_without = _bool(params, "allow_sending_without_reply")
    if isinstance(reply_parameters, dict) and reply_parameters.get("message_id") is not None:
        reply_to = int(reply_parameters["message_id"])
        allow_without = bool(reply_parameters.get("allow_sending_without_reply", allow_without))
        other_chat = reply_parameters.get("chat_id")
        if other_chat not in (None, chat.id, str(chat.id)):
            raise _bad("replying to messages in another chat is not supported by the emulator")
    elif _present(params, "reply_to_message_id"):
        reply_to = _int(params, "reply_to_message_id")
    if reply_to is not None:
        replied = state.get_message(chat.id, reply_to)
        if replied is None or replied.deleted:
            if not allow_without:
                raise _bad("message to be replied not found")
            reply_to = None
    state.check_rate(chat)
    msg = state.add_message(
        chat,
        from_bot=True,
        user_id=state.config.bot_id,
        text=text,
        html=html_source,
        entities=entities,
        reply_markup=inline,
        keyboard_markup=other,
        reply_to_message_id=reply_to,
    )
    state.announce_message("message", msg)
    return state.message_to_api(msg)


@_method("editMessageText")
async def _edit_message_text(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat, msg = _message_for(state, params, "edit")
    _check_reachable(state, chat)
    if not msg.from_bot:
        raise _bad("message can't be edited")
    text, entities, html_source = _formatted_text(params, for_edit=True)
    inline, _ = _reply_markup(params, inline_only=True)
    if text == msg.text and entities == msg.entities and inline == msg.reply_markup:
        raise _bad(NOT_MODIFIED[len("Bad Request: "):])
    msg.text, msg.entities, msg.html = text, entities, html_source
    msg.reply_markup = inline
    msg.edit_count += 1
    msg.edit_date = _now()
    state.announce_message("edited", msg)
    return state.message_to_api(msg)


@_method("editMessageReplyMarkup")
async def _edit_reply_markup(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat, msg = _message_for(state, params, "edit")
    _check_reachable(state, chat)
    if not msg.from_bot:
        raise _bad("message can't be edited")
    inline, _ = _reply_markup(params, inline_only=True)
    if inline == msg.reply_markup:
        raise _bad(NOT_MODIFIED[len("Bad Request: "):])
    msg.reply_markup = inline
    msg.edit_count += 1
    msg.edit_date = _now()
    state.announce_message("edited", msg)
    return state.message_to_api(msg)


def _delete_one(state: EmulatorState, chat: Chat, msg: Message) -> None:
    if chat.is_group and not msg.from_bot and not chat.bot_is_admin:
        raise _bad("message can't be deleted")
    msg.deleted = True
    state.announce_message("deleted", msg)


@_method("deleteMessage")
async def _delete_message(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat, msg = _message_for(state, params, "delete")
    _delete_one(state, chat, msg)
    return True


@_method("deleteMessages")
async def _delete_messages(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    ids = _json(params, "message_ids", "can't parse message_ids JSON array")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise _bad("message_ids must be a list of 1-100 message identifiers")
    found = []
    for mid in ids:
        msg = state.get_message(chat.id, int(mid))
        if msg is not None and not msg.deleted:
            found.append(msg)
    if not found:
        raise _bad("message to delete not found")
    for msg in found:
        _delete_one(state, chat, msg)
    return True


@_method("answerCallbackQuery")
async def _answer_callback_query(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    query = state.callbacks.get(_str(params, "callback_query_id") or "")
    if query is None or query.answered:
        raise _bad(QUERY_TOO_OLD[len("Bad Request: "):])
    text = _str(params, "text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise _bad("MESSAGE_TOO_LONG")
    url = _str(params, "url")
    if url:
        me = re.escape(state.config.bot_username)
        if not re.fullmatch(rf"(https?://)?t\.me/{me}\?start=[A-Za-z0-9_-]{{1,64}}", url, re.I):
            raise _bad("URL_INVALID")
    query.answered = True
    query.text = text or None
    query.show_alert = _bool(params, "show_alert")
    query.url = url or None
    state.announce("callback_answer", chat_id=query.chat_id, query=query.to_control())
    return True


def _member_json(state: EmulatorState, chat: Chat, user_id: int) -> dict[str, Any]:
    if user_id == state.config.bot_id:
        user_json = state.bot_user()
        if chat.is_group and chat.bot_is_admin:
            return _admin_json(user_json, can_be_edited=False)
        if chat.is_group and not chat.bot_is_member:
            return {"status": "left", "user": user_json}
        return {"status": "member", "user": user_json}
    user = state.users.get(user_id)
    if user is None:
        raise _bad("user not found")
    user_json = user.to_api()
    if chat.type == "private":
        if user_id != chat.id:
            raise _bad("user not found")
        return {"status": "member", "user": user_json}
    if user_id == chat.owner_id:
        return {"status": "creator", "user": user_json, "is_anonymous": False}
    if user_id in chat.admins:
        return _admin_json(user_json, can_be_edited=False)
    if user_id in chat.members:
        return {"status": "member", "user": user_json}
    return {"status": "left", "user": user_json}


def _admin_json(user_json: dict[str, Any], can_be_edited: bool) -> dict[str, Any]:
    return {
        "status": "administrator",
        "user": user_json,
        "can_be_edited": can_be_edited,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": True,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": True,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_pin_messages": True,
    }


@_method("getChatMember")
async def _get_chat_member(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    user_id = _int(params, "user_id")
    if user_id is None:
        raise _bad("user_id is empty")
    return _member_json(state, chat, user_id)


@_method("getChatAdministrators")
async def _get_chat_administrators(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    if not chat.is_group:
        raise _bad("there are no administrators in the private chat")
    ids = [*([chat.owner_id] if chat.owner_id else []), *[a for a in chat.admins if a != chat.owner_id]]
    result = [_member_json(state, chat, uid) for uid in ids]
    if chat.bot_is_admin:
        result.append(_member_json(state, chat, state.config.bot_id))
    return result


@_method("getChatMemberCount")
async def _get_chat_member_count(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    if not chat.is_group:
        return 2
    return len(chat.members) + (1 if chat.bot_is_member else 0)


@_method("getChat")
async def _get_chat(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    return {
        **state.chat_to_api(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@_method("sendChatAction")
async def _send_chat_action(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    chat = _resolve_chat(state, params)
    _check_reachable(state, chat)
    action = _str(params, "action")
    if action not in _CHAT_ACTIONS:
        raise _bad("wrong parameter action in request")
    state.announce("chat_action", chat_id=chat.id, action=action)
    return True


def _commands_key(state: EmulatorState, params: dict[str, Any]) -> tuple[str, str]:
    scope = _json(params, "scope", "can't parse BotCommandScope JSON object") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise _bad("can't parse BotCommandScope JSON object")
    lang = _str(params, "language_code") or ""
    if lang and not re.fullmatch(r"[a-z]{2}", lang):
        raise _bad("LANG_CODE_INVALID")
    return json.dumps(scope, sort_keys=True), lang


@_method("setMyCommands")
async def _set_my_commands(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    commands = _json(params, "commands", "can't parse commands JSON array")
    if not isinstance(commands, list):
        raise _bad("can't parse commands JSON array")
    if len(commands) > 100:
        raise _bad("BOT_COMMANDS_TOO_MUCH")
    clean = []
    for c in commands:
        if not isinstance(c, dict):
            raise _bad("can't parse BotCommand JSON object")
        command, description = str(c.get("command", "")), str(c.get("description", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
            raise _bad("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": command, "description": description})
    key = _commands_key(state, params)
    if clean:
        state.commands[key] = clean
    else:
        state.commands.pop(key, None)
    return True


@_method("getMyCommands")
async def _get_my_commands(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return state.commands.get(_commands_key(state, params), [])


@_method("deleteMyCommands")
async def _delete_my_commands(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    state.commands.pop(_commands_key(state, params), None)
    return True


def _bot_text_methods(field_name: str, limit: int) -> None:
    camel = "".join(part.capitalize() for part in field_name.split("_"))

    async def setter(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
        value = _str(params, field_name) or ""
        if len(value) > limit:
            raise _bad(f"{field_name.upper()}_INVALID")
        state.bot_texts.setdefault(field_name, {})[_str(params, "language_code") or ""] = value
        return True

    async def getter(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
        texts = state.bot_texts.get(field_name, {})
        lang = _str(params, "language_code") or ""
        value = texts.get(lang, texts.get("", ""))
        if field_name == "name" and not value:
            value = state.bot_user()["first_name"]
        return {field_name: value}

    _METHODS[f"setmy{camel}".lower()] = setter
    _METHODS[f"getmy{camel}".lower()] = getter


_bot_text_methods("description", 512)
_bot_text_methods("short_description", 120)
_bot_text_methods("name", 64)


@_method("setChatMenuButton")
async def _set_menu_button(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return True


@_method("getChatMenuButton")
async def _get_menu_button(state: EmulatorState, params: dict[str, Any], request: web.Request) -> Any:
    return {"type": "commands"}


# ---------------------------------------------------------------------------
# HTTP handlers
# ---------------------------------------------------------------------------


def _error_response(err: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
    if err.retry_after is not None:
        body["parameters"] = {"retry_after": err.retry_after}
    return web.json_response(body, status=err.code)


async def _handle_bot_api(request: web.Request) -> web.Response:
    state = request.app[EMULATOR_STATE]
    method = request.match_info["method"]
    token = request.match_info["token"]
    params: dict[str, Any] = {}
    entry = state.record_call(method, None)
    try:
        if token != state.config.bot_token:
            raise ApiError(401, "Unauthorized")
        handler = _METHODS.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        params = await _read_params(request)
        entry["chat_id"] = _chat_id_for_log(params.get("chat_id"))
        cfg = state.config
        if cfg.fail_next > 0 and method.lower() == cfg.fail_method.lower():
            cfg.fail_next -= 1
            raise ApiError(cfg.fail_status, f"Injected fault: HTTP {cfg.fail_status}")
        try:
            result = await handler(state, params, request)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise _bad(f"invalid parameters for {method}: {exc}") from exc
    except ApiError as err:
        entry["ok"] = False
        state.record_error(method, entry["chat_id"], err)
        return _error_response(err)
    return web.json_response({"ok": True, "result": result})


def _chat_id_for_log(raw: Any) -> Any:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return raw


def _control(func: Callable[[web.Request], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapper(request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        if request.method not in ("GET", "HEAD") and origin is not None and origin != f"{request.scheme}://{request.host}":
            # a page from elsewhere may not act as the emulator's users (the chat page is same-origin)
            return web.json_response({"error": "cross-origin request refused"}, status=403)
        try:
            result = await func(request)
        except ControlError as err:
            return web.json_response({"error": err.message}, status=err.status)
        except KeyError as err:
            return web.json_response({"error": f"bad request: field {err.args[0]!r} is required"}, status=400)
        except (ValueError, TypeError) as err:
            return web.json_response({"error": f"bad request: {err}"}, status=400)
        if isinstance(result, web.StreamResponse):
            return result  # type: ignore[return-value]
        return web.json_response(result)

    return wrapper


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        raise ControlError(400, "body must be JSON") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    return None if value is None else int(value)


@_control
async def _c_users(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    if request.method == "GET":
        return [u.to_control() for u in state.users.values()]
    body = await _json_body(request)
    user = state.ensure_user(
        int(body["id"]),
        first_name=body.get("first_name"),
        username=body.get("username"),
        language_code=body.get("language_code"),
        last_name=body.get("last_name"),
    )
    if body.get("private_chat", True):
        state.ensure_private_chat(user.id)
    if "blocked" in body:
        user.blocked_bot = bool(body["blocked"])
    state.announce("directory")
    return user.to_control()


@_control
async def _c_chats(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    if request.method == "GET":
        return [c.to_control() for c in state.chats.values()]
    chat = state.upsert_chat(await _json_body(request))
    state.announce("directory")
    return chat.to_control()


@_control
async def _c_send(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    body = await _json_body(request)
    user_id = int(body["user_id"])
    return state.user_send(
        chat_id=int(body.get("chat_id", user_id)),
        user_id=user_id,
        text=str(body.get("text", "")),
        reply_to_message_id=_opt_int(body, "reply_to_message_id"),
        language_code=body.get("language_code"),
    )


@_control
async def _c_edit(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    body = await _json_body(request)
    user_id = int(body["user_id"])
    return state.user_edit(
        chat_id=int(body.get("chat_id", user_id)),
        user_id=user_id,
        message_id=int(body["message_id"]),
        text=str(body.get("text", "")),
    )


@_control
async def _c_press(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    body = await _json_body(request)
    user_id = int(body["user_id"])
    return state.press(
        chat_id=int(body.get("chat_id", user_id)),
        user_id=user_id,
        label=body.get("label"),
        data=body.get("data"),
        message_id=_opt_int(body, "message_id"),
    )


@_control
async def _c_messages(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    return state.transcript(int(request.match_info["chat_id"]))


@_control
async def _c_callback_answers(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    return [q.to_control() for q in state.callbacks.values()]


@_control
async def _c_errors(request: web.Request) -> Any:
    return request.app[EMULATOR_STATE].errors


@_control
async def _c_calls(request: web.Request) -> Any:
    return request.app[EMULATOR_STATE].calls


@_control
async def _c_updates(request: web.Request) -> Any:
    return request.app[EMULATOR_STATE].updates


@_control
async def _c_commands(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    return [
        {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
        for (scope, lang), cmds in state.commands.items()
    ]


@_control
async def _c_reset(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    body = await _json_body(request)
    state.reset(keep_config=bool(body.get("keep_config", False)))
    return {"ok": True}


@_control
async def _c_config(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    if request.method == "POST":
        body = await _json_body(request)
        unknown = set(body) - set(_RUNTIME_SWITCHES)
        if unknown:
            raise ControlError(400, f"cannot change {sorted(unknown)} at run time")
        for key, value in body.items():
            setattr(state.config, key, _RUNTIME_SWITCHES[key](value))
        state._reset_rates()
    return dataclasses.asdict(state.config)


@_control
async def _c_block(request: web.Request) -> Any:
    state = request.app[EMULATOR_STATE]
    body = await _json_body(request)
    user = state.ensure_user(int(body["user_id"]))
    user.blocked_bot = bool(body.get("blocked", True))
    state.announce("directory")
    return user.to_control()


@_control
async def _c_page(request: web.Request) -> Any:
    """What the chat page needs to know first: the bot, the demo's notes, the newest event id."""
    state = request.app[EMULATOR_STATE]
    return {
        "bot": state.bot_user(),
        "privacy_mode": state.config.privacy_mode,
        "info": state.page_info,
        "last_event_id": state.next_event_id - 1,
    }


def _event_start(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ControlError(400, "after / Last-Event-ID must be an event id") from None


@_control
async def _c_events(request: web.Request) -> Any:
    """Events for the chat page: new, edited and deleted messages, callback queries and answers,
    chat actions, directory changes, resets.

    ``Accept: text/event-stream`` (or ``?stream=1``) gives server-sent events, each ``data:``
    one JSON event with its ``id`` (a reconnecting EventSource resumes after Last-Event-ID);
    the first is ``{"type": "hello", "last_id": N}``, and ``{"type": "resync"}`` says that
    events were missed and the page should reload what it shows. Otherwise a JSON long poll:
    ``?after=N&timeout=S`` answers ``{"events": [...], "last_id": N, "resync": bool}``.
    """
    state = request.app[EMULATOR_STATE]
    start = _event_start(request)
    streaming = "text/event-stream" in request.headers.get("Accept", "") or request.query.get("stream") in ("1", "true")
    if not streaming:
        last_id = start if start is not None else state.next_event_id - 1
        timeout = min(max(float(request.query.get("timeout", "0") or 0), 0.0), 60.0)
        await state.wait_for_event(last_id, timeout)
        events = state.events_after(last_id)
        return {
            "events": events or [],
            "last_id": state.next_event_id - 1,
            "resync": events is None,
        }

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)

    async def send(event: dict[str, Any], with_id: bool = True) -> None:
        head = f"id: {event['id']}\n" if with_id else ""
        await response.write(f"{head}data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())

    try:
        await response.write(b"retry: 1000\n\n")
        last_id = state.next_event_id - 1
        if start is not None and start < last_id:
            if state.events_after(start) is None:
                await send({"id": last_id, "type": "resync"})
            else:
                last_id = start
        await send({"id": state.next_event_id - 1, "type": "hello", "last_id": state.next_event_id - 1}, with_id=False)
        while not state.closing:
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            events = state.events_after(last_id)
            if events is None:
                last_id = state.next_event_id - 1
                await send({"id": last_id, "type": "resync"})
                continue
            for event in events:
                await send(event)
                last_id = event["id"]
            if events:
                continue
            before = state.next_event_id
            await state.wait_for_event(last_id, EVENT_KEEPALIVE)
            if state.next_event_id == before and not state.closing:
                await response.write(b": keep-alive\n\n")
    except ConnectionError:
        pass
    return response


async def _page(request: web.Request) -> web.StreamResponse:
    """The chat page and its two files, from ``bot/sandbox/chat_page/``."""
    name = request.match_info.get("name") or "index.html"
    content_type = _PAGE_ASSETS.get(name)
    path = CHAT_PAGE_DIR / name
    if content_type is None or not path.is_file():
        raise web.HTTPNotFound(text="no such file")
    return web.Response(
        body=path.read_bytes(), content_type=content_type, charset="utf-8", headers=_PAGE_HEADERS
    )


async def _favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def create_telegram_emulator_app(config: EmulatorConfig | None = None) -> web.Application:
    """The emulator as an aiohttp application (Bot API + /control/ API)."""
    app = web.Application(client_max_size=20 * 1024 * 1024)
    state = EmulatorState(config or EmulatorConfig())
    app[EMULATOR_STATE] = state

    async def on_shutdown(app: web.Application) -> None:
        app[EMULATOR_STATE].close()

    app.on_shutdown.append(on_shutdown)
    app.router.add_route("*", "/bot{token}/{method}", _handle_bot_api)
    app.router.add_route("*", "/control/users", _c_users)
    app.router.add_route("*", "/control/chats", _c_chats)
    app.router.add_post("/control/send", _c_send)
    app.router.add_post("/control/press", _c_press)
    app.router.add_post("/control/edit", _c_edit)
    app.router.add_get("/control/chats/{chat_id}/messages", _c_messages)
    app.router.add_get("/control/callback_answers", _c_callback_answers)
    app.router.add_get("/control/errors", _c_errors)
    app.router.add_get("/control/calls", _c_calls)
    app.router.add_get("/control/updates", _c_updates)
    app.router.add_get("/control/commands", _c_commands)
    app.router.add_post("/control/reset", _c_reset)
    app.router.add_route("*", "/control/config", _c_config)
    app.router.add_post("/control/block", _c_block)
    app.router.add_get("/control/page", _c_page)
    app.router.add_get("/control/events", _c_events)
    # the chat page (see bot/sandbox/demo.py): / and /chat/ serve it, /chat/<file> its files
    app.router.add_get("/", _page)
    app.router.add_get("/chat", _page)
    app.router.add_get("/chat/", _page)
    app.router.add_get("/chat/{name}", _page)
    app.router.add_get("/favicon.ico", _favicon)
    return app


# ---------------------------------------------------------------------------
# running it
# ---------------------------------------------------------------------------


class RunningEmulator:
    """An emulator listening on a local port (see :func:`start_emulator`)."""

    def __init__(self, app: web.Application, runner: web.AppRunner, url: str):
        self.app = app
        self.runner = runner
        self.url = url

    @property
    def state(self) -> EmulatorState:
        return self.app[EMULATOR_STATE]

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    @property
    def page_url(self) -> str:
        """The chat page (open it in a browser)."""
        return f"{self.url}/"

    @property
    def bot_base_url(self) -> str:
        """What to pass as ``base_url`` to python-telegram-bot."""
        return f"{self.url}/bot"

    def control(self) -> "EmulatorControl":
        return EmulatorControl(self.url)

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> "RunningEmulator":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_emulator(
    host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
) -> RunningEmulator:
    """Start the emulator in the running loop; port 0 picks a free port."""
    app = create_telegram_emulator_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # noqa: SLF001 - the only way to learn the bound port
    actual_port = server.sockets[0].getsockname()[1] if server and server.sockets else port
    return RunningEmulator(app, runner, f"http://{host}:{actual_port}")


async def run_emulator(host: str = "127.0.0.1", port: int = 8082, config: EmulatorConfig | None = None) -> None:
    """Serve the emulator until cancelled."""
    emulator = await start_emulator(host, port, config)
    print(f"Telegram Bot API emulator on {emulator.url} (bot base_url {emulator.bot_base_url})")
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.close()


def main() -> None:  # pragma: no cover - command line entry
    parser = argparse.ArgumentParser(description="Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--no-privacy", action="store_true", help="deliver every group message")
    parser.add_argument("--no-rate-limits", action="store_true")
    args = parser.parse_args()
    config = EmulatorConfig(privacy_mode=not args.no_privacy, rate_limits=not args.no_rate_limits)
    try:
        asyncio.run(run_emulator(args.host, args.port, config))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
