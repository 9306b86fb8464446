"""How the page draws what a bot sends: the Bot API's HTML subset, Persian right to left,
edits and deletions in place, ForceReply, answers to pressed buttons. The messages are sent
through the emulator's Bot API with the demo bot's token, as the bot itself would."""
from __future__ import annotations

import pytest

from bot.sandbox.demo import DEMO_BOT_TOKEN, DEMO_USERS

from .chat import BotApi, ChatPage

SARA = DEMO_USERS[2]

RICH = (
    "<b>Bold</b> <i>italic</i> <u>under</u> <s>gone</s> <code>inline code</code> "
    '<a href="https://manageit.ir/docs">the docs</a> <tg-spoiler>secret-123</tg-spoiler>\n'
    '<pre><code class="language-bash">echo hello</code></pre>\n'
    "<blockquote>quoted <b>bold inside</b></blockquote>\n"
    "&lt;not a tag&gt; &amp; <i>an <b>inner</b> one</i>"
)
PERSIAN = "<b>سرور</b> <code>web-01</code> با آی‌پی 2.189.10.20 فعال شد."


def test_the_html_subset_is_drawn_as_telegram_draws_it(page, demo):
    ChatPage(page, demo.url, SARA.id, "fa").open()
    api = BotApi(demo.url, DEMO_BOT_TOKEN)
    page.evaluate("window.__sameDocument = true")
    sent = api.call("sendMessage", chat_id=SARA.id, text=RICH, parse_mode="HTML")
    msg = page.locator(f'.msg[data-id="{sent["message_id"]}"]')
    msg.wait_for()
    text = msg.locator(".text")
    assert text.locator("b").first.inner_text() == "Bold"
    assert text.locator("i").first.inner_text() == "italic"
    assert text.locator("u").inner_text() == "under"
    assert text.locator("s").inner_text() == "gone"
    assert text.locator(":scope > code").inner_text() == "inline code"
    link = text.locator("a.text-link")
    assert link.get_attribute("href") == "https://manageit.ir/docs"
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    pre = text.locator("pre")
    assert pre.get_attribute("data-language") == "bash"
    assert pre.locator("code").inner_text() == "echo hello"
    assert text.locator("blockquote b").inner_text() == "bold inside"
    assert text.locator("i b").inner_text() == "inner"
    assert "<not a tag> &" in text.inner_text()
    assert text.get_attribute("dir") == "ltr"

    # The spoiler is hidden (transparent text on dots) until clicked.
    spoiler = text.locator(".spoiler")
    assert spoiler.evaluate("e => getComputedStyle(e).color") == "rgba(0, 0, 0, 0)"
    spoiler.click()
    spoiler.page.wait_for_function(
        "e => e.classList.contains('revealed') && getComputedStyle(e).color !== 'rgba(0, 0, 0, 0)'",
        arg=spoiler.element_handle(),
    )
    assert spoiler.inner_text() == "secret-123"

    # Persian laid out right to left: the first word on the right, the Latin host name and the
    # IP address kept whole and left to right inside it.
    sent_fa = api.call("sendMessage", chat_id=SARA.id, text=PERSIAN, parse_mode="HTML")
    fa = page.locator(f'.msg[data-id="{sent_fa["message_id"]}"] .text')
    fa.wait_for()
    assert fa.get_attribute("dir") == "rtl"
    first_word = fa.locator("b").bounding_box()
    host = fa.locator("code").bounding_box()
    assert first_word["x"] > host["x"], "the first Persian word is rightmost"
    assert fa.locator("code").inner_text() == "web-01"
    assert "2.189.10.20" in fa.inner_text()

    # Edits and deletions land in place, without reloading the page.
    api.call("editMessageText", chat_id=SARA.id, message_id=sent["message_id"], text="<b>Edited</b> text",
             parse_mode="HTML")
    page.wait_for_function(
        "id => { const m = document.querySelector(`.msg[data-id=\"${id}\"]`);"
        " return m && m.classList.contains('edited') && m.querySelector('.text').textContent === 'Edited text'; }",
        arg=sent["message_id"],
    )
    assert msg.locator(".edited-mark").is_visible()
    api.call("deleteMessage", chat_id=SARA.id, message_id=sent_fa["message_id"])
    page.locator(f'.msg.deleted[data-id="{sent_fa["message_id"]}"] .tombstone').wait_for()
    assert page.evaluate("window.__sameDocument === true")


def test_force_reply_and_button_answers(page, demo):
    chat = ChatPage(page, demo.url, SARA.id, "fa").open()
    api = BotApi(demo.url, DEMO_BOT_TOKEN)

    # A ForceReply prompt puts the reply bar on, with the bot's placeholder; the answer is a reply.
    prompt = api.call("sendMessage", chat_id=SARA.id, text="What is the new name?",
                      reply_markup={"force_reply": True, "input_field_placeholder": "a name"})
    bar = page.locator("#reply-bar")
    bar.wait_for(state="visible")
    assert bar.get_attribute("data-message-id") == str(prompt["message_id"])
    assert page.locator("#composer-input").get_attribute("placeholder") == "a name"
    chat.say("Staging")
    bar.wait_for(state="hidden")
    answer = page.locator(".msg.out", has_text="Staging").last
    assert answer.locator(".reply-quote-text").inner_text() == "What is the new name?"

    # Any message can be replied to by hand, and the reply cancelled.
    page.locator(f'.msg[data-id="{prompt["message_id"]}"] .bubble').dblclick()
    bar.wait_for(state="visible")
    page.click("#reply-cancel")
    bar.wait_for(state="hidden")

    # A button the real bot does not know: it answers the press, and the page shows the answer
    # as a toast (or an alert when the bot asks for one).
    api.call("sendMessage", chat_id=SARA.id, text="An old menu",
             reply_markup={"inline_keyboard": [[{"text": "Old button", "callback_data": "zzzzzz:gone:"}],
                                               [{"text": "ManageIT", "url": "https://manageit.ir"}]]})
    link = page.locator('.kb-url[data-label="ManageIT"]')
    assert link.get_attribute("href") == "https://manageit.ir"
    chat.press("Old button")
    expected = {chat.tr.plain("callback.invalid"), chat.tr.plain("callback.expired")}
    page.wait_for_function(
        "() => !document.getElementById('toast').hidden || !document.getElementById('alert').hidden"
    )
    if page.locator("#toast").is_visible():
        shown = page.locator("#toast").inner_text()
    else:
        shown = page.locator("#alert-text").inner_text()
        page.click("#alert-ok")
    assert shown in expected


def test_commands_menu_lists_the_bots_commands_in_the_users_language(page, demo):
    chat = ChatPage(page, demo.url, SARA.id, "fa").open()
    page.click("#commands-button")
    menu = page.locator("#commands-menu")
    menu.wait_for(state="visible", timeout=3000)
    names = menu.locator(".command-name").all_inner_texts()
    assert "/start" in names and "/token" in names
    help_desc = menu.locator('.command-item[data-command="help"] .command-desc')
    assert help_desc.inner_text() == chat.tr.plain("command.help")
    assert help_desc.get_attribute("dir") == "rtl"
    page.click('.command-item[data-command="help"]')
    menu.wait_for(state="hidden")
    page.locator(".msg.out", has_text="/help").last.wait_for()
