"""Settings from the environment (and a `.env` file), validated once at start.

Every problem is collected and reported in one line, before anything connects.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

LANGUAGES = ("fa", "en")
_BOT_TOKEN_RE = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{10,}$")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(Exception):
    """Raised with every problem found, as one readable line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("configuration error: " + "; ".join(problems))


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    manageit_api_url: str = "https://api.manageit.ir"
    data_dir: Path = Path("./data")
    database_url: str = ""
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    default_language: str = "fa"
    status_poll_seconds: float = 30.0
    log_level: str = "INFO"
    manageit_timeout: float = 15.0
    # Not from the environment: knobs for the long-polling loop (tests shorten them).
    polling_timeout: int = 10

    @property
    def key_file(self) -> Path:
        return self.data_dir / "encryption.key"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _url_ok(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _database_url_problem(url: str) -> str | None:
    """None when SQLAlchemy knows the URL's dialect and it is an asyncio one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        dialect = make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        return "DATABASE_URL names a database SQLAlchemy does not know (e.g. sqlite+aiosqlite:///data/bot.db)"
    if not getattr(dialect, "is_async", False):
        return "DATABASE_URL must use an asyncio driver (sqlite+aiosqlite://…, postgresql+asyncpg://…)"
    return None


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    require_token: bool = False,
    require_keys: bool = False,
    dotenv: bool = True,
) -> Settings:
    """Read and validate settings; raise ConfigError listing every problem."""
    if env is None:
        if dotenv and Path(".env").is_file():
            from dotenv import dotenv_values

            merged = {k: v for k, v in dotenv_values(".env").items() if v is not None}
            merged.update(os.environ)
            env = merged
        else:
            env = os.environ
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return (env.get(name) or default).strip()

    token = get("TELEGRAM_BOT_TOKEN") or None
    if token is None and require_token:
        problems.append("TELEGRAM_BOT_TOKEN is required (get one from @BotFather)")
    elif token is not None and not _BOT_TOKEN_RE.match(token):
        problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)")

    tg_url = get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
    if not _url_ok(tg_url):
        problems.append(f"TELEGRAM_API_URL is not an http(s) URL: {tg_url!r}")
    mi_url = get("MANAGEIT_API_URL", "https://api.manageit.ir").rstrip("/")
    if not _url_ok(mi_url):
        problems.append(f"MANAGEIT_API_URL is not an http(s) URL: {mi_url!r}")

    data_dir = Path(get("DATA_DIR", "./data"))
    if data_dir.exists() and not data_dir.is_dir():
        problems.append(f"DATA_DIR is not a directory: {str(data_dir)!r}")

    db_url = get("DATABASE_URL")
    if not db_url:
        db_url = f"sqlite+aiosqlite:///{(data_dir / 'manageit-bot.sqlite3').as_posix()}"
    elif "://" not in db_url:
        problems.append("DATABASE_URL is not a SQLAlchemy URL (e.g. sqlite+aiosqlite:///data/bot.db)")
    elif db_url.startswith("sqlite://") or db_url.startswith("sqlite:///"):
        db_url = "sqlite+aiosqlite" + db_url[len("sqlite"):]
    if "://" in db_url:
        problem = _database_url_problem(db_url)
        if problem:
            problems.append(problem)

    keys: tuple[str, ...] = ()
    raw_keys = get("ENCRYPTION_KEYS")
    if raw_keys:
        from bot.storage.vault import TokenVault, VaultError

        try:
            keys = tuple(TokenVault.parse_keys(raw_keys))
        except VaultError as exc:
            problems.append(str(exc))
    elif require_keys:
        problems.append(
            "ENCRYPTION_KEYS is required: create one with `manageit-bot gen-key` "
            "and set ENCRYPTION_KEYS=<key>"
        )

    lang = get("DEFAULT_LANGUAGE", "fa").lower()
    if lang not in LANGUAGES:
        problems.append(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {lang!r}")

    poll_raw = get("STATUS_POLL_SECONDS", "30")
    try:
        poll = float(poll_raw)
        if not 0.05 <= poll <= 86400:
            raise ValueError
    except ValueError:
        problems.append(f"STATUS_POLL_SECONDS must be a number of seconds (0.05–86400), not {poll_raw!r}")
        poll = 30.0

    timeout_raw = get("MANAGEIT_TIMEOUT_SECONDS", "15")
    try:
        api_timeout = float(timeout_raw)
        if not 0.1 <= api_timeout <= 300:
            raise ValueError
    except ValueError:
        problems.append(f"MANAGEIT_TIMEOUT_SECONDS must be a number of seconds (0.1–300), not {timeout_raw!r}")
        api_timeout = 15.0

    level = get("LOG_LEVEL", "INFO").upper()
    if level not in _LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {level!r}")

    if problems:
        raise ConfigError(problems)
    return Settings(
        telegram_bot_token=token,
        telegram_api_url=tg_url,
        manageit_api_url=mi_url,
        data_dir=data_dir,
        database_url=db_url,
        encryption_keys=keys,
        default_language=lang,
        status_poll_seconds=poll,
        log_level=level,
        manageit_timeout=api_timeout,
    )
