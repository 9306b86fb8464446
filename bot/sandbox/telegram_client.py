"""Async client for the Telegram emulator's control API (for the test-suite).

    async with EmulatorControl(url) as emu:
        await emu.send(chat_id=42, user_id=42, text="/start")
        msgs = await emu.wait_for(42, lambda ms: [m for m in ms if m["from_bot"]])
        await emu.press(42, 42, label="Servers")
        assert await emu.errors() == []
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable

import aiohttp

__all__ = ["EmulatorControl", "format_transcript"]


def format_transcript(messages: list[dict[str, Any]]) -> str:
    """A readable dump of a chat's messages, for assertion failures."""
    lines = []
    for m in messages:
        who = "BOT " if m.get("from_bot") else f"user {m.get('user_id')}"
        flags = []
        if m.get("deleted"):
            flags.append("deleted")
        if m.get("edited"):
            flags.append("edited")
        if m.get("force_reply"):
            flags.append("force_reply")
        if m.get("reply_to_message_id") is not None:
            flags.append(f"reply to #{m['reply_to_message_id']}")
        if m.get("delivered") is False:
            flags.append("not delivered")
        flag_text = f" [{', '.join(flags)}]" if flags else ""
        lines.append(f"#{m.get('message_id')} {who}{flag_text}: {m.get('text')!s}")
        for row in m.get("buttons") or []:
            cells = []
            for b in row:
                target = b.get("callback_data", b.get("url", ""))
                cells.append(f"[{b.get('text')} -> {target}]")
            lines.append("      " + " ".join(cells))
    return "\n".join(lines) if lines else "(no messages)"


class ControlAPIError(AssertionError):
    """The control API refused a request (e.g. no such button)."""

    def __init__(self, status: int, payload: Any):
        super().__init__(f"emulator control API answered {status}: {payload}")
        self.status = status
        self.payload = payload


class EmulatorControl:
    """Thin aiohttp wrapper around the emulator's ``/control/`` routes."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None):
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> "EmulatorControl":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        session = self._get_session()
        async with session.request(method, f"{self.base_url}/control/{path}", json=body) as resp:
            text = await resp.text()
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            if resp.status >= 400:
                raise ControlAPIError(resp.status, payload)
            return payload

    # -- setup -----------------------------------------------------------
    async def create_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        private_chat: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": user_id, "private_chat": private_chat}
        if first_name is not None:
            body["first_name"] = first_name
        if username is not None:
            body["username"] = username
        if language_code is not None:
            body["language_code"] = language_code
        return await self._request("POST", "users", body)

    async def create_chat(
        self,
        chat_id: int,
        type: str = "group",  # noqa: A002 - mirrors the API field
        title: str | None = None,
        members: list[int] | None = None,
        bot_is_admin: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": chat_id, "type": type, "bot_is_admin": bot_is_admin, **extra}
        if title is not None:
            body["title"] = title
        if members is not None:
            body["members"] = members
        return await self._request("POST", "chats", body)

    async def block(self, user_id: int, blocked: bool = True) -> dict[str, Any]:
        return await self._request("POST", "block", {"user_id": user_id, "blocked": blocked})

    async def config(self, **switches: Any) -> dict[str, Any]:
        return await self._request("POST", "config", switches)

    async def reset(self, keep_config: bool = False) -> None:
        await self._request("POST", "reset", {"keep_config": keep_config})

    # -- acting as users -------------------------------------------------
    async def send(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"chat_id": chat_id, "user_id": user_id, "text": text}
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        if language_code is not None:
            body["language_code"] = language_code
        return await self._request("POST", "send", body)

    async def edit(self, chat_id: int, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their message `message_id` (the bot gets an edited_message)."""
        return await self._request("POST", "edit", {"chat_id": chat_id, "user_id": user_id,
                                                    "message_id": message_id, "text": text})

    async def press(
        self,
        chat_id: int,
        user_id: int,
        label: str | None = None,
        data: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"chat_id": chat_id, "user_id": user_id}
        if label is not None:
            body["label"] = label
        if data is not None:
            body["data"] = data
        if message_id is not None:
            body["message_id"] = message_id
        return await self._request("POST", "press", body)

    # -- observing -------------------------------------------------------
    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return await self._request("GET", f"chats/{chat_id}/messages")

    async def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [
            m
            for m in await self.messages(chat_id)
            if m["from_bot"] and (include_deleted or not m["deleted"])
        ]

    async def callback_answers(self) -> list[dict[str, Any]]:
        return await self._request("GET", "callback_answers")

    async def errors(self) -> list[dict[str, Any]]:
        return await self._request("GET", "errors")

    async def calls(self) -> list[dict[str, Any]]:
        return await self._request("GET", "calls")

    async def commands(self) -> list[dict[str, Any]]:
        return await self._request("GET", "commands")

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[list[dict[str, Any]]], Any],
        timeout: float = 10,
        interval: float = 0.05,
    ) -> Any:
        """Poll the chat's messages until ``predicate(messages)`` is truthy; return its value.

        Raises AssertionError with the chat transcript when ``timeout`` passes.
        """
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while True:
            messages = await self.messages(chat_id)
            result = predicate(messages)
            if result:
                return result
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(interval)
        errors = await self.errors()
        error_text = "".join(f"\n  {e['method']} {e['chat_id']}: {e['description']}" for e in errors)
        raise AssertionError(
            f"timed out after {timeout}s waiting on chat {chat_id}; transcript:\n"
            f"{format_transcript(messages)}"
            + (f"\nrefused Bot API calls:{error_text}" if errors else "")
        )
