"""The one place that builds inline keyboards.

Screens describe buttons as `Button(label, action, arg)`; `markup()` binds them to a
menu id and a screen version and encodes callback data through `bot.ui.callbacks`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import clean_text
from bot.ui.callbacks import Callback

PAGE_SIZE = 8
MAX_LABEL = 64  # Telegram shows long labels truncated; keep them short anyway


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str
    arg: str = ""


@dataclass
class Screen:
    """What to show: HTML text and rows of buttons. Produced by `bot.ui.render`."""

    text: str
    rows: list[list[Button]] = field(default_factory=list)


def _label(text: str) -> str:
    text = " ".join(clean_text(text, keep_isolates=True).split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def markup(menu_id: str, rows: Sequence[Sequence[Button]], version: str = "0") -> InlineKeyboardMarkup | None:
    keyboard = [
        [
            InlineKeyboardButton(_label(b.label), callback_data=Callback(menu_id, b.action, b.arg, version).encode())
            for b in row
        ]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


@dataclass(frozen=True)
class Page:
    items: list
    number: int  # 0-based, clamped
    count: int

    @property
    def has_prev(self) -> bool:
        return self.number > 0

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.count


def paginate(items: Sequence, page: int, size: int = PAGE_SIZE) -> Page:
    count = max(1, math.ceil(len(items) / size))
    number = min(max(page, 0), count - 1)
    return Page(list(items[number * size : (number + 1) * size]), number, count)


def pager_row(page: Page, action: str, position_label: str, prev_label: str = "«", next_label: str = "»") -> list[Button]:
    """« 2/5 » row; empty when everything fits on one page."""
    if page.count <= 1:
        return []
    row = []
    if page.has_prev:
        row.append(Button(prev_label, action, str(page.number - 1)))
    row.append(Button(position_label, "noop"))
    if page.has_next:
        row.append(Button(next_label, action, str(page.number + 1)))
    return row
