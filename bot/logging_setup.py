"""Logging that never shows a secret.

HTTP libraries log request URLs, and a Bot API URL holds the bot token
(`…/bot123:ABC…/getUpdates`). Every record passes a filter that redacts the known
secrets and anything shaped like a bot token, and httpx's request lines are kept at
WARNING.
"""
from __future__ import annotations

import logging
import re

_BOT_TOKEN_RE = re.compile(r"\d{3,12}:[A-Za-z0-9_-]{10,}")
_secrets: set[str] = set()


def protect_secret(secret: str | None) -> None:
    if secret and len(secret) >= 6:
        _secrets.add(secret)
    _install_record_factory()


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return _BOT_TOKEN_RE.sub("<redacted>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()
_factory_installed = False


def _install_record_factory() -> None:
    """Redact at the source: every record, whichever handler later receives it."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def install_filter(handler: logging.Handler) -> None:
    if _FILTER not in handler.filters:
        handler.addFilter(_FILTER)


def setup(level: str = "INFO") -> None:
    _install_record_factory()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        install_filter(handler)
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep the libraries that log payloads or URLs above the levels where they do.

    httpx logs every request line (with the bot token in the URL) at INFO;
    python-telegram-bot logs whole updates and request parameters at DEBUG, and those
    carry what users type — a pasted API token, a typed password."""
    _install_record_factory()
    for name in ("httpx", "httpcore", "aiohttp.access", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances" while one slow cycle still runs
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    for name in ("telegram", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.INFO)
