import pytest

from bot.handlers.groups import looks_like_token
from bot.handlers.servers import generate_password, validate_hostname
from bot.ui.callbacks import Callback, CallbackDataTooLong, decode, new_menu_id, next_version
from bot.ui.keyboards import Button, markup, paginate, pager_row


def test_callback_round_trip_and_size():
    menu = new_menu_id()
    cb = Callback(menu, "srv.open", "8XuAXHsqwNIjSpxb")
    data = cb.encode()
    assert len(data.encode()) <= 64
    assert decode(data) == cb


@pytest.mark.parametrize("data", ["", "x", "a:b", "abcdef:srv.open:x", "abcdef:0:srv.open:x:y", "ab:0:srv.open:x",
                                  "abcdef:0:SRV:x", "abcdef:00:srv.open:x", "abcdef:-:srv.open:x",
                                  "abcdef:0:srv.open:نام", "abcdef:0:srv.open:" + "a" * 50, None])
def test_forged_or_malformed_callback_data_is_rejected(data):
    assert decode(data) is None


def test_names_cannot_be_encoded():
    with pytest.raises(ValueError):
        Callback("abcdef", "srv.open", "سرور").encode()
    with pytest.raises((ValueError, CallbackDataTooLong)):
        Callback("abcdef", "srv.open", "a" * 60).encode()


def test_keyboard_binds_menu_id():
    kb = markup("abcdef", [[Button("x", "main")], []], "b")
    assert [[b.callback_data for b in row] for row in kb.inline_keyboard] == [["abcdef:b:main:"]]
    assert decode("abcdef:b:main:") == Callback("abcdef", "main", "", "b")


def test_screen_versions_cycle_and_differ():
    seen = [next_version(None)]
    for _ in range(61):
        seen.append(next_version(seen[-1]))
    assert len(set(seen)) == 62
    assert next_version(seen[-1]) == seen[0]
    assert next_version("?") == seen[0]


def test_pagination_eight_per_page():
    page = paginate(list(range(20)), 1)
    assert page.items == list(range(8, 16)) and page.count == 3
    assert [b.arg for b in pager_row(page, "p", "2/3")] == ["0", "", "2"]
    assert pager_row(paginate([1, 2], 0), "p", "1/1") == []
    assert paginate(list(range(20)), 99).number == 2


@pytest.mark.parametrize(
    "typed,hostname,error",
    [
        ("web-01.example", "web-01.example", None),
        ("web-۰۱۲۳", "web-0123", None),
        ("web-٠١٢٣", "web-0123", None),
        ("web", "web", "create.hostname_short"),
        ("web server", "web server", "create.hostname_chars"),
        ("سرور-اصلی", "سرور-اصلی", "create.hostname_chars"),
        ("a" * 101, "a" * 101, "create.hostname_long"),
    ],
)
def test_hostname_rules_match_the_api(typed, hostname, error):
    assert validate_hostname(typed) == (hostname, error)


def test_generated_passwords_are_strong_and_different():
    a, b = generate_password(), generate_password()
    assert a != b and len(a) >= 16
    assert any(c.isupper() for c in a) and any(c.isdigit() for c in a) and any(not c.isalnum() for c in a)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12|" + "a1B2" * 10, True),
        ("here is mine: " + "Zx9" * 20, True),
        ("hello world", False),
        ("/token abc", False),
        ("see www.some-very-long-domain-name-for-testing.example.com", False),
    ],
)
def test_token_lookalikes(text, expected):
    assert looks_like_token(text) is expected


def test_validation_errors_are_listed_under_a_localized_title():
    from bot.handlers.base import error_key, validation_lines
    from bot.i18n import translator
    from bot.manageit.errors import Throttled, ValidationFailed
    from bot.ui.render import error_screen

    exc = ValidationFailed.__new__(ValidationFailed)
    Exception.__init__(exc, "x")
    exc.status, exc.message, exc.errors = 422, "hostname باید حداقل 6 حرف داشته باشد.", {
        "hostname": ["hostname باید حداقل 6 حرف داشته باشد."], "password": ["<bad>"]}
    key, values = error_key(exc)
    tr = translator("en")
    screen = error_screen(tr, key, values, validation_lines(exc), retry=["proj.list", "0"])
    assert screen.text.startswith(tr.t("error.validation"))
    assert "hostname must be at least 6 characters." in screen.text  # the API's Persian, said in English
    assert "&lt;bad&gt;" in screen.text
    assert [b.action for row in screen.rows for b in row] == ["proj.list", "main"]
    throttled = Throttled.__new__(Throttled)
    throttled.retry_after = 42.4
    assert error_key(throttled) == ("error.throttled", {"seconds": 42})


def test_every_list_of_the_server_wizard_is_paged_by_eight():
    from bot.i18n import translator
    from bot.manageit.models import Location, OSImage, OSVersion
    from bot.ui import render

    tr = translator("en")
    locations = [Location(id=i, name=f"loc{i}") for i in range(1, 12)]
    image = OSImage(id=1, name="Ubuntu", versions=tuple(OSVersion(id=i, version=f"{i}.04") for i in range(1, 12)))
    for screen in (render.pick_location(tr, locations, 1), render.pick_version(tr, image, list(image.versions), 1)):
        picks = [b for row in screen.rows for b in row if b.action in ("sc.loc", "sc.ver")]
        assert len(picks) == 3  # items 9–11 on the second page
        pager = [b for row in screen.rows for b in row if b.action == "sc.page"]
        assert [b.arg for b in pager] == ["0"]  # back to the first page; no next
        assert any(b.action == "sc.back" for row in screen.rows for b in row)  # Back on every step


async def test_order_once_finds_an_order_saved_after_its_answer_was_lost(monkeypatch):
    """The API saves the order a moment after the client gave up: the bot must find it
    rather than invite a second order; a lost answer with nothing found is never 'retry'."""
    from dataclasses import dataclass

    from bot.actions import base
    from bot.manageit.errors import NetworkError, RequestTimeout, ServerError

    monkeypatch.setattr(base, "LOOK_AGAIN", (0.0, 0.01, 0.01))

    @dataclass
    class Res:
        hash: str
        name: str

    saved: list[Res] = [Res("old", "web-01")]
    looks = 0

    async def listing():
        nonlocal looks
        looks += 1
        if looks == 3:  # the order shows up on the second look after the time-out
            saved.append(Res("new", "web-01"))
        return list(saved)

    async def times_out():
        raise RequestTimeout("late")

    assert (await base.order_once(times_out, listing, "web-01")).hash == "new"

    async def never_saved():
        raise RequestTimeout("late")

    saved[:] = []
    looks = -99
    with pytest.raises(base.OutcomeUnknown):
        await base.order_once(never_saved, listing, "db-01")

    async def refused_connection():
        error = NetworkError("no route")
        error.sent = False
        raise error

    with pytest.raises(NetworkError):  # nothing was sent: the error stands, retrying is safe
        await base.order_once(refused_connection, listing, "db-01")

    async def app_error():
        raise ServerError("boom", status=500)

    with pytest.raises(ServerError):
        await base.order_once(app_error, listing, "db-01")


def test_specific_api_rules_win_over_general_ones():
    from bot.i18n import translator

    en = translator("en")
    assert en.api("زمانی که sshkeys موجود نیست، password الزامی است.") == (
        "password is required when sshkeys is not present.")
    assert en.api("password الزامی است.") == "password is required."
