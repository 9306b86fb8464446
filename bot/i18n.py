"""Localisation: messages from `locales/<lang>/*.po`, numbers, prices, sizes, dates.

Messages are keyed by a stable id (the PO msgid), e.g. ``server.detail.title``; the
English and Persian catalogs carry the texts. Placeholders use ``{name}``.

`Translator.t()` returns HTML-safe text: every plain-string value is escaped, and in
Persian it is wrapped in a first-strong isolate (FSI … PDI) so that a Latin hostname or
an IP keeps its order inside right-to-left text. Integers and floats are rendered with
the language's digits and separators. Values that are already HTML are passed in as
`Html`.
"""
from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.paths import shipped

LOCALES_DIR = shipped("_locales", "locales")
LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "fa"

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_TO_ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫", "01234567890123456789.")
FSI, PDI = "\u2068", "\u2069"
RLM = "\u200f"  # right-to-left mark


_COMMAND_RE = re.compile(r"(?<![\w/<])(/[a-z_]{2,32})(?![\w])")
LRI = "\u2066"
try:
    from zoneinfo import ZoneInfo

    TEHRAN = ZoneInfo("Asia/Tehran")
except Exception:  # no time-zone database: Iran has kept +03:30 all year since 2022
    TEHRAN = timezone(timedelta(hours=3, minutes=30))

_AGO_UNITS = {"ثانیه": "seconds", "دقیقه": "minutes", "ساعت": "hours", "روز": "days", "هفته": "weeks", "ماه": "months", "سال": "years"}
_AGO_RE = re.compile(r"^([0-9۰-۹٠-٩]+)\s*(" + "|".join(_AGO_UNITS) + r")\s*پیش$")


class Html(str):
    """A fragment that is already valid Telegram HTML; `t()` inserts it as is."""


# Characters that change how the text around them is laid out or hide themselves: bidi
# embeddings, overrides and isolates, marks, zero-width space, BOM, and C0/C1 controls.
# The zero-width non-joiner and joiner stay: Persian spelling needs them.
_INVISIBLE = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200B, 0x200E,
     0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
)


_INVISIBLE_BUT_ISOLATES = {k: v for k, v in _INVISIBLE.items() if k not in range(0x2066, 0x206A)}


def clean_text(text: str, *, keep_isolates: bool = False) -> str:
    """Remove layout-changing and invisible characters (see `_INVISIBLE`) from text that
    comes from a user or the API, so that a name can neither reverse the line it stands in
    nor be blank while looking filled. `keep_isolates`: for text already assembled from a
    catalog, whose own FSI/LRI … PDI must stay."""
    return text.translate(_INVISIBLE_BUT_ISOLATES if keep_isolates else _INVISIBLE)


def to_ascii_digits(text: str) -> str:
    """Persian (۰–۹) and Arabic-Indic (٠–٩) digits to ASCII, and the Arabic decimal
    separator (٫, as a Persian keyboard types it in 10٫0٫0٫5) to a dot."""
    return text.translate(_TO_ASCII_DIGITS)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@lru_cache(maxsize=None)
def load_catalog(lang: str) -> dict[str, str]:
    """Every `locales/<lang>/*.po` file (one per area), merged; a key defined twice is an error."""
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.po")):
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for message in catalog:
            if not message.id:
                continue
            key = str(message.id)
            if key in out:
                raise ValueError(f"message {key!r} is defined twice in locales/{lang}")
            text = str(message.string or "")
            if lang == "fa":  # keep "/token" from being drawn as "token/" in right-to-left text
                text = _COMMAND_RE.sub(lambda m: LRI + m.group(1) + PDI, text)
            out[key] = text
    return out


def normalize_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Telegram's language_code ('en-US', 'fa') to one of ours; unknown → default."""
    if not code:
        return default
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else default


class _SafeDict(dict):
    def __missing__(self, key):  # a missing value shows as {key} rather than crashing
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    lang: str

    @property
    def rtl(self) -> bool:
        return self.lang == "fa"

    # -- messages ---------------------------------------------------------------
    def raw(self, key: str) -> str:
        text = load_catalog(self.lang).get(key)
        if not text:
            text = load_catalog("en").get(key) or key
        return text

    def t(self, key: str, **values) -> str:
        """Message as HTML, values escaped and localised.

        In Persian, a message whose first word is a value (a user's name, a hostname) starts
        with a right-to-left mark: apps take a paragraph's direction from its first strong
        letter, and a Latin name there would lay the Persian sentence out left to right."""
        template = self.raw(key)
        text = template.format_map(_SafeDict({k: self._html_value(v) for k, v in values.items()}))
        if self.rtl and _starts_with_value(template):
            text = RLM + text
        return text

    def plain(self, key: str, **values) -> str:
        """Message as plain text (button labels, callback answers): nothing escaped."""
        return self.raw(key).format_map(_SafeDict({k: self._plain_value(v) for k, v in values.items()}))

    def _plain_value(self, value) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, (int, float)):
            return self.number(value)
        if isinstance(value, Html):
            return str(value)
        text = clean_text(str(value))
        return FSI + text + PDI if self.rtl and text else text

    def _html_value(self, value) -> str:
        if isinstance(value, Html):
            return str(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self.number(value)
        return self.isolate(html.escape(clean_text(str(value)), quote=False))

    def isolate(self, text: str) -> str:
        return FSI + text + PDI if self.rtl and text else text

    def api(self, message: str) -> str:
        """A message from the API (Persian, Laravel's wording) in this language: a known
        rule is said with its field and limits; anything else is passed on as it came."""
        if self.rtl or not message:
            return message
        text = message.strip()
        for key, pattern in _api_rules():
            match = pattern.match(text)
            if match:
                return self.plain(key, **match.groupdict())
        return message

    # -- numbers ----------------------------------------------------------------
    def digits(self, text: str) -> str:
        return text.translate(_PERSIAN_DIGITS) if self.rtl else text

    def number(self, value: float, decimals: int = 2) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        fmt = "#,##0" if isinstance(value, int) else "#,##0." + "#" * decimals
        text = format_decimal(value, format=fmt, locale=self.lang, numbering_system="default")
        return self.digits(text)

    def price(self, toman: float) -> Html:
        return Html(self.plain("unit.toman", amount=Html(self.number(toman))))

    def gigabytes(self, gb: float) -> Html:
        return Html(self.plain("unit.gb", amount=Html(self.number(round(gb, 2)))))

    def ram(self, ram_bytes: int | None) -> Html:
        if not ram_bytes:
            return Html("—")
        return self.gigabytes(ram_bytes / 1024**3)

    def ago(self, phrase: str | None) -> str:
        """The API's humanised Persian phrase ("15 ثانیه پیش") in this language."""
        if not phrase:
            return "—"
        match = _AGO_RE.match(phrase.strip())
        if not match:
            return self.digits(phrase) if self.rtl else phrase
        amount = int(to_ascii_digits(match.group(1)))
        unit = _AGO_UNITS[match.group(2)]
        return self.plain(f"ago.{unit}.one" if amount == 1 else f"ago.{unit}", count=Html(self.number(amount)))

    def date(self, when: datetime | None) -> str:
        if when is None:
            return "—"
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        when = when.astimezone(timezone.utc)
        if self.rtl:  # Jalali calendar, Tehran time
            import jdatetime

            j = jdatetime.datetime.fromgregorian(datetime=when.astimezone(TEHRAN))
            return self.digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d} {j.hour:02d}:{j.minute:02d}")
        return when.strftime("%Y-%m-%d %H:%M UTC")

    def clock(self, when: datetime) -> str:
        """A time of day to the second (Tehran time in Persian, UTC in English)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if self.rtl:
            return self.digits(when.astimezone(TEHRAN).strftime("%H:%M:%S"))
        return when.astimezone(timezone.utc).strftime("%H:%M:%S UTC")


_RTL_LETTER_RE = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
_LTR_LETTER_RE = re.compile(r"[A-Za-z\u00C0-\u02B8\u0370-\u052F]")


@lru_cache(maxsize=2048)
def _starts_with_value(template: str) -> bool:
    """Whether a placeholder comes before the template's first letter (tags aside)."""
    bare = _TAG_RE.sub("", template)
    brace = bare.find("{")
    if brace < 0:
        return False
    letters = [m.start() for m in (_RTL_LETTER_RE.search(bare), _LTR_LETTER_RE.search(bare)) if m]
    return not letters or brace < min(letters)


_PLACEHOLDER_RE = re.compile(r"\{\w+\}")


@lru_cache(maxsize=1)
def _api_rules() -> tuple[tuple[str, re.Pattern], ...]:
    """ManageIT's validation messages are Laravel's Persian rule texts (`api.rule.*` in the
    fa catalog); each becomes a pattern whose placeholders capture the field and limits."""
    rules = []
    for key, text in load_catalog("fa").items():
        if key.startswith("api.rule."):
            pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(text))
            rules.append((len(_PLACEHOLDER_RE.sub("", text)), key, re.compile("^" + pattern + "$")))
    # the most specific first: "{f} الزامی است." would also match "زمانی که …، {f} الزامی است."
    return tuple((key, rx) for _, key, rx in sorted(rules, key=lambda r: -r[0]))


def translator(lang: str | None) -> Translator:
    return Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


_TAG_RE = re.compile(r"<[^>]+>")


def strip_tags(text: str) -> str:
    return html.unescape(_TAG_RE.sub("", text))
