"""/start, /menu, /help, /language and the main menu."""
from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.base import Interaction, action, run_guarded
from bot.i18n import LANGUAGES
from bot.ui import render


async def main_menu_screen(ix: Interaction):
    acct_name = None
    async with ix.services.db.session() as session:
        cred = await ix.services.credentials.get_for_owner(session, ix.user.id)
        if cred is not None:
            # the email is private: in a group only the account's name is shown
            acct_name = cred.account_name or (cred.account_email if ix.is_private else None) or "✓"
    return render.main_menu(ix.tr, first_name=ix.user.first_name, account_name=acct_name)


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()

    async def body():
        ix.menu["last_view"] = ["main", ""]
        await ix.show(await main_menu_screen(ix))

    await run_guarded(ix, body())


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()
    await run_guarded(ix, ix.show(render.help_screen(ix.tr)))


async def cmd_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()
    arg = (context.args or [""])[0].lower() if context.args else ""
    if arg in LANGUAGES:
        await run_guarded(ix, _set_language(ix, arg))
        return
    screen = render.language_menu(ix.tr)
    if arg:
        screen.text = ix.tr.t("language.unknown", code=arg[:20]) + "\n" + screen.text
    await run_guarded(ix, ix.show(screen))


async def cmd_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command this bot doesn't have (only answered in a private chat)."""
    ix = Interaction(update, context)
    if ix.is_private:
        await ix.send(ix.tr.t("hint.unknown_command"))


async def cmd_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the flow the user is in (a prompt or a wizard step) in this chat."""
    ix = Interaction(update, context)
    awaiting = ix.user_data.pop("awaiting", None)
    menu_id = awaiting.get("menu") if awaiting and awaiting.get("chat_id") == ix.chat.id else None
    if menu_id not in ix.menus:
        in_flow = [(m["ts"], k) for k, m in ix.menus.items() if m.get("chat_id") == ix.chat.id and m.get("flow")]
        menu_id = max(in_flow)[1] if in_flow else None
    if menu_id is None:
        await ix.send(ix.tr.t("common.nothing_to_cancel"))
        return
    ix.menu_id = menu_id
    ix.services.secrets.pop((ix.user.id, menu_id))
    ix.end_flow()
    await run_guarded(ix, ix.show(render.cancelled(ix.tr), new=True))


@action("main")
async def on_main(ix: Interaction, arg: str) -> None:
    ix.end_flow()
    ix.menu["last_view"] = ["main", ""]
    await ix.show(await main_menu_screen(ix))


@action("help")
async def on_help(ix: Interaction, arg: str) -> None:
    await ix.show(render.help_screen(ix.tr))


@action("lang.menu")
async def on_language_menu(ix: Interaction, arg: str) -> None:
    await ix.show(render.language_menu(ix.tr))


@action("lang.set")
async def on_language_set(ix: Interaction, arg: str) -> None:
    if arg not in LANGUAGES:
        return
    await _set_language(ix, arg)


async def _set_language(ix: Interaction, lang: str) -> None:
    ix.set_language(lang)
    async with ix.services.db.session() as session:
        await ix.services.users.set_language(session, ix.user.id, lang)
    ix.menu["last_view"] = ["main", ""]
    screen = await main_menu_screen(ix)
    screen.text = ix.tr.t("language.changed") + "\n\n" + screen.text
    await ix.show(screen)
