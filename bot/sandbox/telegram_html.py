"""Telegram-style HTML parsing for the Bot API emulator.

Turns a ``parse_mode=HTML`` message text into the plain text plus the list of
message entities that Telegram would store, with offsets and lengths counted in
UTF-16 code units (as in the Bot API).  The grammar and error texts follow what
Telegram's servers accept and report, with one deliberate tightening: a bare
``&`` that does not start a valid entity is refused (Telegram leaves it as a
literal), because text coming from users must always be escaped.

Supported tags: b strong i em u ins s strike del a[href] code pre (optionally
with a nested ``<code class="language-...">``) span[class=tg-spoiler]
tg-spoiler blockquote[expandable].  Entities: &lt; &gt; &amp; &quot; and
numeric (&#NNN; &#xHH;).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HTMLParseError",
    "parse_html",
    "utf16_len",
    "trim_text",
    "detect_entities",
]

_SUPPORTED_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "code",
    "pre",
    "blockquote",
}

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_SPACES = " \t\r\n\v\f\0"
_TRIM_SPACES = " \t\r\n\v\f"


class HTMLParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is Telegram's reason."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_pos: int  # index in the output list of characters
    suppressed: bool  # nested inside code/pre: produces no entity
    entities_before: int = 0


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_OpenTag] = []

    # -- helpers ---------------------------------------------------------
    def ch(self, i: int | None = None) -> str:
        i = self.pos if i is None else i
        return self.src[i] if i < len(self.src) else "\0"

    def byte_offset(self, i: int) -> int:
        return len(self.src[:i].encode("utf-8"))

    def fail(self, message: str) -> HTMLParseError:
        return HTMLParseError(message)

    def emit(self, text: str) -> None:
        for c in text:
            self.out.append(c)
            self.utf16 += 2 if ord(c) > 0xFFFF else 1

    def decode_entity(self, i: int) -> tuple[str, int] | None:
        """Decode an HTML entity starting at ``src[i] == '&'``.

        Returns (character, index after the entity) or None if invalid.
        """
        end = self.src.find(";", i + 1)
        if end == -1 or end - i > 12:
            return None
        body = self.src[i + 1 : end]
        if body in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[body], end + 1
        m = re.fullmatch(r"#(?:([0-9]{1,8})|[xX]([0-9a-fA-F]{1,7}))", body)
        if not m:
            return None
        code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), end + 1

    def bare_ampersand(self, i: int) -> HTMLParseError:
        snippet = self.src[i : i + 10].split(" ")[0]
        return self.fail(
            f'Unsupported entity "{snippet}" at byte offset {self.byte_offset(i)}: '
            'a bare "&" must be escaped as "&amp;"'
        )

    # -- main loop -------------------------------------------------------
    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        src = self.src
        n = len(src)
        while self.pos < n:
            c = src[self.pos]
            if c == "&":
                decoded = self.decode_entity(self.pos)
                if decoded is None:
                    raise self.bare_ampersand(self.pos)
                self.emit(decoded[0])
                self.pos = decoded[1]
                continue
            if c != "<":
                self.emit(c)
                self.pos += 1
                continue
            if self.ch(self.pos + 1) == "/":
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise self.fail(
                "Can't find end tag corresponding to start tag "
                f'"{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self) -> None:
        begin = self.pos
        i = begin + 1
        while self.ch(i) not in _SPACES and self.ch(i) != ">":
            i += 1
        if i >= len(self.src):
            raise self.fail(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.src[begin + 1 : i].lower()
        if tag not in _SUPPORTED_TAGS:
            raise self.fail(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        argument = ""
        while self.ch(i) != ">":
            while i < len(self.src) and self.ch(i) in _SPACES:
                i += 1
            if self.ch(i) == ">":
                break
            if i >= len(self.src):
                raise self.fail(
                    f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            attr_begin = i
            while self.ch(i) not in _SPACES and self.ch(i) not in "=>":
                i += 1
            attr_name = self.src[attr_begin:i].lower()
            if not attr_name:
                raise self.fail(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            while i < len(self.src) and self.ch(i) in _SPACES:
                i += 1
            if self.ch(i) != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    argument = "expandable"
                    continue
                raise self.fail(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self.byte_offset(begin)}'
                )
            i += 1
            while i < len(self.src) and self.ch(i) in _SPACES:
                i += 1
            if i >= len(self.src):
                raise self.fail(
                    f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            quote = self.ch(i)
            if quote not in "'\"":
                token_begin = i
                while self.ch(i).isalnum() or self.ch(i) in ".-":
                    i += 1
                value = self.src[token_begin:i].lower()
                if self.ch(i) not in _SPACES and self.ch(i) != ">":
                    raise self.fail(
                        "Unexpected end of name token at byte offset "
                        f"{self.byte_offset(token_begin)}"
                    )
            else:
                i += 1
                chars: list[str] = []
                while i < len(self.src) and self.src[i] != quote:
                    if self.src[i] == "&":
                        decoded = self.decode_entity(i)
                        if decoded is None:
                            raise self.bare_ampersand(i)
                        chars.append(decoded[0])
                        i = decoded[1]
                        continue
                    chars.append(self.src[i])
                    i += 1
                if i >= len(self.src):
                    raise self.fail(
                        f"Unclosed start tag at byte offset {self.byte_offset(begin)}"
                    )
                i += 1
                value = "".join(chars)
            if tag == "a" and attr_name == "href":
                argument = value
            elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
        if tag == "span" and argument != "spoiler":
            raise self.fail(
                'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{self.byte_offset(begin)}"
            )
        # code and pre hold no other entities; the one exception is a <code> right
        # inside a <pre>, which merges into the pre entity (taking its language)
        suppressed = any(t.name in ("code", "pre") or t.suppressed for t in self.stack)
        parent = self.stack[-1] if self.stack else None
        if tag == "code" and parent is not None and parent.name == "pre" and not parent.suppressed:
            suppressed = False
        self.stack.append(
            _OpenTag(
                name=tag,
                argument=argument,
                utf16_offset=self.utf16,
                text_pos=len(self.out),
                suppressed=suppressed,
                entities_before=len(self.entities),
            )
        )
        self.pos = i + 1

    def end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.ch(i) not in _SPACES and self.ch(i) != ">":
            i += 1
        end_name = self.src[begin + 2 : i].lower()
        while i < len(self.src) and self.ch(i) in _SPACES:
            i += 1
        if self.ch(i) != ">":
            raise self.fail(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        top = self.stack[-1]
        if end_name and end_name != top.name:
            raise self.fail(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{top.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        self.pos = i + 1
        length = self.utf16 - top.utf16_offset
        if length <= 0 or top.suppressed:
            return
        offset = top.utf16_offset
        entity: dict[str, Any]
        if top.name in _SIMPLE_TYPES:
            entity = {"type": _SIMPLE_TYPES[top.name], "offset": offset, "length": length}
        elif top.name == "a":
            url = top.argument or "".join(self.out[top.text_pos :])
            if not url.strip():
                return
            entity = {"type": "text_link", "offset": offset, "length": length, "url": url}
        elif top.name == "code":
            entity = {"type": "code", "offset": offset, "length": length}
            if top.argument:
                entity["_language"] = top.argument
        elif top.name == "pre":
            entity = {"type": "pre", "offset": offset, "length": length}
            # a <code> nested directly in the pre: merge, taking its language
            inner = [e for e in self.entities[top.entities_before :] if e["type"] == "code"]
            for e in inner:
                self.entities.remove(e)
                if e["offset"] == offset and e["length"] == length and e.get("_language"):
                    entity["language"] = e["_language"]
        elif top.name == "blockquote":
            kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
            entity = {"type": kind, "offset": offset, "length": length}
        else:  # pragma: no cover - every supported tag is handled above
            return
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return (plain text, entities).  Raises HTMLParseError."""
    text, entities = _Parser(source).parse()
    for e in entities:
        e.pop("_language", None)
    return text, entities


def trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace as Telegram does, clipping entities."""
    stripped_left = text.lstrip(_TRIM_SPACES)
    lead = len(text) - len(stripped_left)  # whitespace is always 1 UTF-16 unit
    new_text = stripped_left.rstrip(_TRIM_SPACES)
    total = utf16_len(new_text)
    result = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    return new_text, result


# a command starts the text, or follows white space or a bidi isolate (LRI/RLI/FSI)
_COMMAND_RE = re.compile(r"(?<![^\s\u2066\u2067\u2068])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")
_URL_RE = re.compile(r"(?<![\w@/])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'\u060c\u061b]")


def with_detected_entities(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A sent message's entities plus those Telegram detects by itself (commands, mentions,
    links) where no entity stands already — as in a bot's HTML message "Send /token"."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities]
    extra = [e for e in detect_entities(text)
             if not any(s < e["offset"] + e["length"] and e["offset"] < t for s, t in taken)]
    return sorted(entities + extra, key=lambda e: (e["offset"], -e["length"])) if extra else entities


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram detects by itself in a plain text: bot_command, mention, url."""
    found: list[tuple[int, int, str]] = []
    for kind, regex in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE), ("url", _URL_RE)):
        for m in regex.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            found.append((m.start(), m.end(), kind))
    entities = []
    for start, end, kind in sorted(found):
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[:start]),
                "length": utf16_len(text[start:end]),
            }
        )
    return entities
