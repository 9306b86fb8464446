"""A person in front of the chat page: types, clicks buttons by their visible label, and waits
for the bot's answers as they appear on screen. Labels come from the locale catalogs, so the
same steps work in English and in Persian."""
from __future__ import annotations

import json
import re
import urllib.request

from bot.i18n import Translator, strip_tags, translator

_NORM_JS = r"""
const norm = (s) => (s || "").replace(/[\u2066-\u2069]/g, "").replace(/\s+/g, " ").trim();
"""


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub("[\u2066-\u2069]", "", text)).strip()


class ChatPage:
    def __init__(self, page, url: str, user_id: int, lang: str):
        self.page = page
        self.url = url
        self.user_id = user_id
        self.tr: Translator = translator(lang)

    # -- where ----------------------------------------------------------------------------
    def open(self, chat_id: int | None = None) -> "ChatPage":
        chat = self.user_id if chat_id is None else chat_id
        self.page.goto(f"{self.url}#user={self.user_id}&chat={chat}")
        self.page.wait_for_selector("body[data-ready]")
        self.page.wait_for_selector(f'.chat-item.active[data-chat-id="{chat}"]')
        return self

    def act_as(self, user_id: int, lang: str) -> "ChatPage":
        self.page.select_option("#user-picker", str(user_id))
        self.page.wait_for_function(
            "id => location.hash.includes('user=' + id)", arg=user_id
        )
        self.user_id = user_id
        self.tr = translator(lang)
        return self

    def set_language(self, lang: str) -> None:
        self.page.click(f'#lang-picker [data-lang="{lang}"]')
        self.page.wait_for_selector(f'#lang-picker [data-lang="{lang}"][aria-checked="true"]')
        self.tr = translator(lang)

    # -- acting ---------------------------------------------------------------------------
    def say(self, text: str) -> None:
        box = self.page.locator("#composer-input")
        box.fill(text)
        box.press("Enter")
        self.page.wait_for_function("() => document.getElementById('composer-input').value === ''")

    def press(self, label: str) -> None:
        """Click the button with exactly this label on the newest message that has one."""
        button = (
            self.page.locator(".msg:not(.deleted)")
            .filter(has=self.page.get_by_role("button", name=label, exact=True))
            .last.get_by_role("button", name=label, exact=True)
        )
        button.click()

    def press_key(self, key: str, **values) -> None:
        self.press(self.tr.plain(key, **values))

    def press_match(self, fragment: str, timeout: float = 10) -> None:
        """Click the first button whose label holds ``fragment`` on the newest keyboard
        (waiting for such a button to appear there)."""
        handle = self.page.wait_for_function(
            _NORM_JS
            + """
            (frag) => {
              const menus = document.querySelectorAll(".msg:not(.deleted) .keyboard");
              if (!menus.length) return null;
              for (const b of menus[menus.length - 1].querySelectorAll(".kb-btn")) {
                if (norm(b.dataset.label).includes(norm(frag))) return b.dataset.label;
              }
              return null;
            }
            """,
            arg=fragment,
            timeout=timeout * 1000,
        )
        self.press(handle.json_value())

    # -- seeing ---------------------------------------------------------------------------
    def expect(self, *fragments: str, timeout: float = 10):
        """Wait for a live bot message showing every fragment; return its locator."""
        handle = self.page.wait_for_function(
            _NORM_JS
            + """
            (frags) => {
              const wanted = frags.map(norm);
              const msgs = Array.from(document.querySelectorAll(".msg.from-bot:not(.deleted)")).reverse();
              for (const m of msgs) {
                const text = norm(m.querySelector(".text") ? m.querySelector(".text").textContent : "");
                if (wanted.every((w) => text.includes(w))) return m.dataset.id;
              }
              return null;
            }
            """,
            arg=list(fragments),
            timeout=timeout * 1000,
        )
        return self.page.locator(f'.msg[data-id="{handle.json_value()}"]')

    def expect_key(self, key: str, timeout: float = 10, **values):
        return self.expect(strip_tags(self.tr.t(key, **values)), timeout=timeout)


class BotApi:
    """The bot's side of the emulator, for sending messages the real bot never sends."""

    def __init__(self, url: str, token: str):
        self.base = f"{url.rstrip('/')}/bot{token}"

    def call(self, method: str, **params) -> dict:
        request = urllib.request.Request(
            f"{self.base}/{method}",
            data=json.dumps(params).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        assert body["ok"], body
        return body["result"]
