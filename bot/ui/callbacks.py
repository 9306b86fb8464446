"""The one place that encodes and decodes inline-button callback data.

Callback data is ``<menu>:<version>:<action>:<arg>`` — a short menu id that names a
server-side menu session, the version of the screen the button was drawn on (one
character, new each time the menu's message changes), a short action code and a short
argument (an index, a numeric id or a resource hash). Names never go in here: Telegram
allows 64 bytes, which is 32 Persian letters. Everything decoded is untrusted; the
handlers look the menu up server-side, check who pressed, and refuse a press made on a
screen that has since been replaced (a double tap, a queued second press).
"""
from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

MAX_BYTES = 64
_ALPHABET = string.ascii_letters + string.digits
_MENU_RE = re.compile(r"^[A-Za-z0-9]{6}$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9]$")
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_.]{0,23}$")
_ARG_RE = re.compile(r"^[A-Za-z0-9_.\-]{0,40}$")


class CallbackDataTooLong(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Callback:
    menu: str
    action: str
    arg: str = ""
    version: str = "0"

    def encode(self) -> str:
        if (
            not _MENU_RE.match(self.menu)
            or not _VERSION_RE.match(self.version)
            or not _ACTION_RE.match(self.action)
            or not _ARG_RE.match(self.arg)
        ):
            raise ValueError(f"callback parts not encodable: {self.action!r} {self.arg!r}")
        data = f"{self.menu}:{self.version}:{self.action}:{self.arg}"
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackDataTooLong(data)
        return data


def decode(data: str | None) -> Callback | None:
    """Parse callback data; None for anything malformed (forged or from an old version)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) != 4:
        return None
    menu, version, action, arg = parts
    if not _MENU_RE.match(menu) or not _VERSION_RE.match(version) or not _ACTION_RE.match(action) or not _ARG_RE.match(arg):
        return None
    return Callback(menu, action, arg, version)


def new_menu_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(6))


def next_version(version: str | None) -> str:
    """The version after `version` (cycling through 62 characters)."""
    if not version or version not in _ALPHABET:
        return _ALPHABET[0]
    return _ALPHABET[(_ALPHABET.index(version) + 1) % len(_ALPHABET)]
