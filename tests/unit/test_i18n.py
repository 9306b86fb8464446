from datetime import datetime, timezone

import pytest

from bot.i18n import FSI, PDI, Html, load_catalog, normalize_language, placeholders, to_ascii_digits, translator


def test_every_message_exists_in_both_languages_with_the_same_placeholders():
    en, fa = load_catalog("en"), load_catalog("fa")
    assert set(en) == set(fa), f"missing in fa: {set(en) - set(fa)}; missing in en: {set(fa) - set(en)}"
    for key in en:
        assert en[key].strip() and fa[key].strip(), f"{key} is empty"
        assert placeholders(en[key]) == placeholders(fa[key]), key


def test_every_key_used_in_the_code_exists():
    import re
    from pathlib import Path

    used = set()
    for path in Path("bot").rglob("*.py"):
        used |= set(re.findall(r"\.(?:t|plain|raw)\(\s*\"([a-z_]+\.[a-z_.]+)\"", path.read_text()))
    missing = used - set(load_catalog("en"))
    assert not missing, missing


def test_persian_numbers_prices_and_sizes():
    fa, en = translator("fa"), translator("en")
    assert fa.price(219000) == "۲۱۹٬۰۰۰ تومان"
    assert en.price(219000) == "219,000 Toman"
    assert fa.ram(2147483648) == "۲ گیگابایت"
    assert en.ram(1610612736) == "1.5 GB"
    assert fa.number(1234567) == "۱٬۲۳۴٬۵۶۷"


def test_latin_fragments_are_isolated_and_escaped_in_persian():
    fa = translator("fa")
    text = fa.t("servers.item", name="web-01<x>", status="فعال")
    assert f"{FSI}web-01&lt;x&gt;{PDI}" in text
    en = translator("en")
    assert "web-01&lt;x&gt;" in en.t("servers.item", name="web-01<x>", status="active")
    assert FSI not in en.t("servers.item", name="web-01", status="active")
    assert fa.t("common.error_line", error=Html("<b>x</b>")) == "⚠️ <b>x</b>"


def test_dates_are_jalali_in_persian():
    when = datetime(2023, 12, 30, 4, 9, tzinfo=timezone.utc)
    assert translator("fa").date(when) == "۱۴۰۲/۱۰/۰۹ ۰۷:۳۹"  # Tehran time, UTC+03:30
    assert translator("en").date(when) == "2023-12-30 04:09 UTC"


@pytest.mark.parametrize(
    "code,expected", [("fa", "fa"), ("en-US", "en"), ("de", "fa"), (None, "fa"), ("EN", "en")]
)
def test_language_from_telegram_code(code, expected):
    assert normalize_language(code) == expected


def test_persian_and_arabic_digits_to_ascii():
    assert to_ascii_digits("web-۰۱۲") == "web-012"
    assert to_ascii_digits("٣٤٥") == "345"


def test_the_apis_humanised_phrase_is_localised():
    assert translator("fa").ago("15 ثانیه پیش") == "۱۵ ثانیه پیش"
    assert translator("en").ago("15 ثانیه پیش") == "15 seconds ago"
    assert translator("en").ago("9 دقیقه پیش") == "9 minutes ago"
    assert translator("en").ago("something else") == "something else"
    assert translator("fa").ago(None) == "—"


def test_commands_keep_their_slash_in_front_in_persian():
    text = translator("fa").t("menu.not_connected")
    assert "\u2066/token\u2069" in text
    assert "/token" in translator("en").t("menu.not_connected") and "\u2066" not in translator("en").t("menu.not_connected")


def test_values_cannot_reverse_or_hide_text():
    from bot.i18n import clean_text, translator

    en, fa = translator("en"), translator("fa")
    name = "web\u202eelbat\u200b\u0007"
    assert clean_text(name) == "webelbat"
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"  # the zero-width non-joiner stays
    for tr in (en, fa):
        for text in (tr.t("server.delete_confirm", name=name, ip="1.2.3.4"), tr.plain("lb.btn.remove", item=name)):
            assert "\u202e" not in text and "\u200b" not in text and "webelbat" in text
    assert clean_text("\u2068x\u2069", keep_isolates=True) == "\u2068x\u2069"
    assert clean_text("\u2068x\u2069") == "x"


def test_api_validation_messages_are_said_in_english():
    from bot.i18n import translator
    from bot.sandbox.manageit import MESSAGES

    en, fa = translator("en"), translator("fa")
    assert en.api("name نباید بیشتر از 50 حرف باشد.") == "name must be at most 50 characters."
    assert en.api("services.0.destination_port باید بین 0 و 65535 باشد.") == (
        "services.0.destination_port must be between 0 and 65535.")
    assert en.api("something new") == "something new"
    # every rule text the sandbox speaks (the documentation's) is understood
    for rule, text in MESSAGES.items():
        sample = text.format(f="hostname", other="sshkeys", n=6, a=0, b=65535)
        assert en.api(sample) != sample, rule
        assert fa.api(sample) == sample
