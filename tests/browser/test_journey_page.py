"""A person tries the bot in the local chat page, in headless Chromium: /start, the sandbox
token, a project, a server through every step, the "active" notice; then Persian, right to
left. Screenshots of the page mid-flow in both languages (docs/screenshot-en.png, -fa.png)."""
from __future__ import annotations

from bot.i18n import strip_tags
from bot.sandbox.demo import DEMO_USERS
from bot.sandbox.manageit import DEMO_TOKEN

from .chat import ChatPage
from .conftest import save_screenshot

ALICE = DEMO_USERS[0]  # English


def test_journey_through_the_page_in_english_then_persian(page, demo, tmp_path):
    chat = ChatPage(page, demo.url, ALICE.id, "en").open()
    tr = chat.tr
    assert page.locator("#lang-picker [data-lang='en']").get_attribute("aria-checked") == "true"

    # /start: the main menu, with its buttons under it.
    chat.say("/start")
    menu = chat.expect_key("menu.not_connected")
    assert menu.locator(".kb-btn").count() >= 3
    assert menu.get_by_role("button", name=tr.plain("btn.projects"), exact=True).is_visible()

    # The sandbox token, typed after /token: the message carrying it disappears from the chat.
    chat.say("/token")
    chat.expect_key("token.prompt")
    chat.say(DEMO_TOKEN)
    chat.expect("Demo User", "demo@example.com")
    page.wait_for_selector(".msg.out.deleted .tombstone")
    assert DEMO_TOKEN not in page.locator(".msg.out:not(.deleted)").all_inner_texts().__str__()

    # A project.
    chat.say("/projects")
    chat.expect_key("projects.empty")
    chat.press_key("btn.new_project")
    chat.expect_key("project.new_prompt")
    chat.say("Production")
    chat.expect_key("project.created", name="Production")

    # A server, clicking through every step.
    chat.press_key("btn.servers")
    chat.expect_key("servers.empty", project="Production")
    chat.press_key("btn.new_server")
    chat.expect_key("create.location")
    chat.press("پارسیان")
    chat.expect_key("create.plan", location="پارسیان")
    chat.press_match("GH-1")
    chat.expect_key("create.os")
    chat.press("Ubuntu")
    chat.expect_key("create.version", os="Ubuntu")
    chat.press("Ubuntu 22.04")
    chat.expect_key("create.hostname")
    chat.say("web-01")
    chat.expect_key("create.password")
    chat.press_key("btn.generate_password")
    summary = chat.expect_key("create.summary")
    assert "web-01" in summary.inner_text()

    # Menus are edited in place, as Telegram does: the same message, marked "edited".
    assert page.locator(".msg.from-bot.edited").count() >= 1

    # The generated password is a spoiler: hidden until clicked.
    first_line = strip_tags(tr.t("create.generated_password", password="X")).split("\n")[0]
    password = chat.expect(first_line).locator(".spoiler").first
    assert "revealed" not in (password.get_attribute("class") or "")
    assert password.evaluate("e => getComputedStyle(e).color") == "rgba(0, 0, 0, 0)"
    save_screenshot(page, "screenshot-en.png", tmp_path)
    password.click()
    assert "revealed" in (password.get_attribute("class") or "")

    chat.press_key("btn.confirm_create")
    chat.expect_key("create.created", name="web-01", status=strip_tags(tr.t("status.creating")))

    # The notifier's notice, pushed to the page without a reload.
    notice = chat.expect("web-01", tr.raw("status.active"), "2.189.", timeout=15)
    assert notice.is_visible()

    # Persian: the language picker changes the user's Telegram language; the bot follows.
    chat.set_language("fa")
    chat.say("/menu")
    fa_menu = chat.expect_key("menu.greeting", name=ALICE.first_name)
    text = fa_menu.locator(".text")
    assert text.get_attribute("dir") == "rtl"
    assert text.evaluate("e => e.matches(':dir(rtl)') && getComputedStyle(e).direction === 'rtl'")
    assert text.evaluate("e => getComputedStyle(e).textAlign") in ("right", "end")
    fa_projects = chat.tr.plain("btn.projects")
    assert fa_menu.get_by_role("button", name=fa_projects, exact=True).is_visible()

    # Into the server, in Persian: Latin fragments (host name, IP) stay intact inside RTL text.
    chat.press(fa_projects)
    chat.press_match("Production")
    chat.press_key("btn.servers")
    chat.press_match("web-01")
    detail = chat.expect("web-01", "2.189.", chat.tr.raw("status.active"))
    detail_text = detail.locator(".text")
    assert detail_text.get_attribute("dir") == "rtl"
    content = detail_text.text_content() or ""
    assert "web-01" in content and chat.tr.raw("status.active") in content
    save_screenshot(page, "screenshot-fa.png", tmp_path)
