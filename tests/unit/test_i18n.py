import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.i18n import FSI, PDI, Html, load_catalog, normalize_language, placeholders, to_ascii_digits, translator


def test_every_message_exists_in_both_languages_with_the_same_placeholders():
    en, fa = load_catalog("en"), load_catalog("fa")
    assert set(en) == set(fa), f"missing in fa: {set(en) - set(fa)}; missing in en: {set(fa) - set(en)}"
    for key in en:
        assert en[key].strip() and fa[key].strip(), f"{key} is empty"
        assert placeholders(en[key]) == placeholders(fa[key]), key


REPO = Path(__file__).resolve().parents[2]


def dynamic_keys() -> set[str]:
    """Keys the code builds at run time (f"command.{cmd}", "status." + status, ...),
    spelled out so that each is checked like a literal one."""
    from bot.actions.load_balancers import ALGORITHMS
    from bot.app import COMMANDS
    from bot.i18n import _AGO_UNITS

    keys = {f"command.{cmd}" for cmd in COMMANDS}  # app._post_init: the command menu
    keys |= {f"ago.{unit}" for unit in _AGO_UNITS.values()}  # Translator.ago
    keys |= {f"ago.{unit}.one" for unit in _AGO_UNITS.values()}
    # render.status_text: the statuses ManageIT reports (others are shown as the API says them)
    keys |= {f"status.{s}" for s in ("active", "creating", "started", "stopped", "not_exist", "pending",
                                     "suspended", "deleting", "reinstalling", "error")}
    keys |= {f"lb.algo.{a}" for a in ALGORITHMS}  # render_lb: the algorithm's name
    for kind in ("targets", "services"):  # render_lb.limit_lines, handlers.load_balancers
        keys |= {f"lb.{kind}.over", f"lb.{kind}.full", f"lb.limit_{kind}"}
    return keys


def test_every_key_used_in_the_code_exists():
    sources = list((REPO / "bot").rglob("*.py"))
    assert len(sources) > 20, f"the bot's sources were not found under {REPO / 'bot'}"
    used = set()
    for path in sources:
        used |= set(re.findall(r"\.(?:t|plain|raw)\(\s*\"([a-z_]+\.[a-z_.]+)\"", path.read_text(encoding="utf-8")))
    assert len(used) >= 150, f"only {len(used)} keys found: is the pattern still right?"
    catalog = set(load_catalog("en"))
    assert not used - catalog, used - catalog
    dynamic = dynamic_keys()
    assert len(dynamic) >= 40
    assert not dynamic - catalog, dynamic - catalog


def test_the_listed_dynamic_keys_are_the_ones_the_code_builds():
    """Each dynamic family above is still built by the code (so the list is not stale), and
    render.status_text finds each listed status, spelled as ManageIT spells it ("not exist")."""
    code = "".join(p.read_text(encoding="utf-8") for p in (REPO / "bot").rglob("*.py"))
    for built in ('f"command.{cmd}"', 'f"ago.{unit}.one"', 'f"ago.{unit}"', '"status." + ', 'f"lb.algo.{',
                  'f"lb.{kind}.over"', 'f"lb.{kind}.full"', 'f"lb.limit_{kind}"'):
        assert built in code, built
    from bot.ui.render import status_text

    for key in (k for k in dynamic_keys() if k.startswith("status.")):
        status = key.split(".", 1)[1].replace("_", " ")
        assert status_text(translator("en"), status) == translator("en").raw(key) != key


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
    # a Persian message that starts with a value starts with a right-to-left mark, so that a
    # Latin first word does not turn the sentence left to right; English never gets one
    assert fa.t("common.error_line", error=Html("<b>x</b>")) == "\u200f⚠️ <b>x</b>"
    assert fa.t("common.reply_here", user=Html("Sara")).startswith("\u200fSara")
    assert not fa.t("hint.use_menu").startswith("\u200f")
    assert not en.t("common.reply_here", user=Html("Sara")).startswith("\u200f")


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
