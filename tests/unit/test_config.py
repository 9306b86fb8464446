import pytest

from bot.config import ConfigError, load_settings
from bot.storage.vault import TokenVault


def test_defaults():
    s = load_settings({}, dotenv=False)
    assert s.default_language == "fa"
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.status_poll_seconds == 30
    assert s.database_url.startswith("sqlite+aiosqlite:///")


def test_every_problem_reported_in_one_line():
    env = {
        "TELEGRAM_BOT_TOKEN": "nope",
        "MANAGEIT_API_URL": "ftp://x",
        "DEFAULT_LANGUAGE": "de",
        "STATUS_POLL_SECONDS": "soon",
        "LOG_LEVEL": "LOUD",
        "ENCRYPTION_KEYS": "not-a-key",
    }
    with pytest.raises(ConfigError) as exc:
        load_settings(env, dotenv=False)
    text = str(exc.value)
    assert "\n" not in text
    for name in ("TELEGRAM_BOT_TOKEN", "MANAGEIT_API_URL", "DEFAULT_LANGUAGE", "STATUS_POLL_SECONDS", "LOG_LEVEL", "ENCRYPTION_KEYS"):
        assert name in text
    assert "not-a-key" not in text


def test_run_requirements_say_how_to_fix():
    with pytest.raises(ConfigError) as exc:
        load_settings({}, require_token=True, require_keys=True, dotenv=False)
    assert "TELEGRAM_BOT_TOKEN" in str(exc.value) and "gen-key" in str(exc.value)


def test_valid_settings():
    key = TokenVault.generate_key()
    s = load_settings(
        {"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOP", "ENCRYPTION_KEYS": key, "DEFAULT_LANGUAGE": "en",
         "DATABASE_URL": "sqlite:///x.db", "STATUS_POLL_SECONDS": "0.5"},
        require_token=True, require_keys=True, dotenv=False,
    )
    assert s.encryption_keys == (key,) and s.default_language == "en"
    assert s.database_url == "sqlite+aiosqlite:///x.db"
    assert "123456:ABC" not in repr(s) and key not in repr(s)
