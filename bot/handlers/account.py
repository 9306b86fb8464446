"""/token, /logout, /account: the chat's ManageIT API token.

The token is accepted only in a private chat. The message that carries it is deleted
as soon as it is read; the token is checked with GET api/user before it is stored
(encrypted), and it is never logged or sent back.
"""
from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.actions import tokens
from bot.handlers.base import Interaction, action, refuse_token, run_guarded, text_input
from bot.manageit import errors as api_errors
from bot.ui import render


async def account_screen(ix: Interaction):
    async with ix.services.db.session() as session:
        cred = await ix.services.credentials.get_for_owner(session, ix.user.id)
    if cred is None:
        return render.account_screen(ix.tr, name=None, email=None, fingerprint=None, private=ix.is_private)
    return render.account_screen(
        ix.tr, name=cred.account_name, email=cred.account_email, fingerprint=cred.fingerprint, private=ix.is_private
    )


async def cmd_token(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    message = update.effective_message
    if not ix.is_private:
        if context.args:  # a token pasted in a group: remove it before anyone reads it
            await refuse_token(ix, message)
        else:
            await ix.send(ix.tr.t("token.group_refused"))
        return
    ix.new_menu()
    if context.args:
        token = " ".join(context.args).strip()
        await ix.delete(message)
        await run_guarded(ix, _connect(ix, token))
        return
    ix.await_text("token")
    await run_guarded(ix, ix.show(render.token_prompt(ix.tr)))


async def cmd_logout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()
    await run_guarded(ix, ix.show(render.logout_confirm(ix.tr)))


async def cmd_account(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()

    async def body():
        ix.menu["last_view"] = ["acct.show", ""]
        await ix.show(await account_screen(ix))

    await run_guarded(ix, body())


@text_input("token")
async def on_token_text(ix: Interaction, text: str, message: Message) -> None:
    await ix.delete(message)  # first of all: the token must not stay in the chat
    await _connect(ix, text.strip())


async def _connect(ix: Interaction, token: str) -> None:
    if not token or len(token) > 500 or not (token.isascii() and token.isprintable()) or " " in token:
        ix.await_text("token")
        await ix.show(render.token_prompt(ix.tr, ix.tr.plain("token.malformed")), new=True)
        return
    await ix.show(render.Screen(ix.tr.t("token.checking"), []), new=True)
    try:
        user = await tokens.connect(ix.services, ix.actor, ix.user.id, token)
    except api_errors.InvalidToken:
        ix.await_text("token")
        await ix.show(render.token_prompt(ix.tr, ix.tr.plain("token.invalid")))
        return
    ix.stop_awaiting()
    ix.forget_other_menus()
    ix.menu["last_view"] = ["acct.show", ""]
    screen = await account_screen(ix)
    screen.text = ix.tr.t("token.saved", name=user.name or "—", email=user.email or "—") + "\n\n" + screen.text
    await ix.show(screen)


async def _logout(ix: Interaction) -> None:
    removed = await tokens.forget(ix.services, ix.actor, ix.user.id)
    ix.forget_other_menus()
    key = "account.logged_out" if removed else "account.none"
    await ix.show(render.Screen(ix.tr.t(key), [[render.Button(ix.tr.plain("btn.main_menu"), "main")]]))


@action("acct.show")
async def on_account(ix: Interaction, arg: str) -> None:
    ix.stop_awaiting()
    ix.menu["last_view"] = ["acct.show", ""]
    await ix.show(await account_screen(ix))


@action("acct.token")
async def on_change_token(ix: Interaction, arg: str) -> None:
    if not ix.is_private:
        await ix.show(render.Screen(ix.tr.t("token.group_refused"), [[render.back(ix.tr, "main")]]))
        return
    ix.await_text("token")
    await ix.show(render.token_prompt(ix.tr))


@action("acct.cancel")
async def on_cancel_token(ix: Interaction, arg: str) -> None:
    ix.stop_awaiting()
    await ix.show(render.cancelled(ix.tr))


@action("acct.logout")
async def on_logout(ix: Interaction, arg: str) -> None:
    await ix.show(render.logout_confirm(ix.tr))


@action("acct.logout_ok")
async def on_logout_ok(ix: Interaction, arg: str) -> None:
    await _logout(ix)
