"""Projects: list, detail, create, rename, delete (with a confirmation step)."""
from __future__ import annotations

import unicodedata

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.actions import projects as project_actions
from bot.handlers.base import Interaction, action, run_guarded, text_input
from bot.i18n import clean_text
from bot.manageit import errors as api_errors
from bot.ui import render

# letters and symbols that draw nothing (Hangul fillers, the blank braille pattern)
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")

NAME_MIN, NAME_MAX = 3, 100


def _page(arg: str) -> int:
    return int(arg) if arg.isdigit() else 0


async def cmd_projects(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ix = Interaction(update, context)
    ix.new_menu()
    await run_guarded(ix, show_projects(ix, 0))


async def show_projects(ix: Interaction, page: int) -> None:
    ix.menu["last_view"] = ["proj.list", str(page)]
    account = await ix.account()
    projects = await account.client.projects.list()
    await ix.show(render.project_list(ix.tr, projects, page))


async def show_project(ix: Interaction, project_hash: str) -> None:
    ix.menu["last_view"] = ["proj.open", project_hash]
    account = await ix.account()
    project = await account.client.projects.get(project_hash)
    ix.menu["project"] = project.hash
    ix.menu["project_name"] = project.name
    await ix.show(render.project_detail(ix.tr, project))


@action("proj.list")
async def on_list(ix: Interaction, arg: str) -> None:
    ix.end_flow()
    await show_projects(ix, _page(arg))


@action("proj.open")
async def on_open(ix: Interaction, arg: str) -> None:
    ix.end_flow()
    await show_project(ix, arg)


@action("proj.new")
async def on_new(ix: Interaction, arg: str) -> None:
    await ix.account()  # no token: say so now, not after the name is typed
    ix.start_flow("project_name", renaming=None)
    await _ask_name(ix)


@action("proj.rename")
async def on_rename(ix: Interaction, arg: str) -> None:
    if not ix.menu.get("project"):
        await ix.answer(ix.tr.plain("callback.expired"))
        return
    ix.start_flow("project_name", renaming=ix.menu["project"])
    await _ask_name(ix)


async def _ask_name(ix: Interaction, error: str | None = None, *, new: bool = False) -> None:
    ix.await_text("project_name")
    renaming = ix.menu.get("project_name") if ix.flow.get("renaming") else None
    await ix.show(render.project_name_prompt(ix.tr, renaming=renaming, error=error), new=new)
    if not ix.is_private:
        await ix.send(ix.tr.t("common.reply_here", user=render.Html(ix.mention())), force_reply=True)


@action("proj.name_cancel")
async def on_name_cancel(ix: Interaction, arg: str) -> None:
    renaming = ix.flow.get("renaming")
    ix.end_flow()
    if renaming:
        await show_project(ix, renaming)
    else:
        await show_projects(ix, 0)


@text_input("project_name")
async def on_name_text(ix: Interaction, text: str, message: Message) -> None:
    if ix.flow.get("name") != "project_name":
        ix.stop_awaiting()
        return
    name = " ".join(clean_text(text).split())
    renaming = ix.flow.get("renaming")
    if len(name) < (1 if renaming else NAME_MIN) or len(name) > NAME_MAX:
        await _ask_name(ix, ix.tr.plain("project.name_length", min=NAME_MIN, max=NAME_MAX), new=True)
        return
    if not any(unicodedata.category(c)[0] in "LNPS" and c not in BLANK_LOOKING for c in name):  # e.g. only ZWNJs
        await _ask_name(ix, ix.tr.plain("project.name_invisible"), new=True)
        return
    account = await ix.account()
    try:
        if renaming:
            project = await project_actions.rename_project(ix.services, ix.actor, account, renaming, name)
        else:
            project = await project_actions.create_project(ix.services, ix.actor, account, name)
    except api_errors.ValidationFailed as exc:
        reasons = [ix.tr.api(m) for msgs in exc.errors.values() for m in msgs] or [ix.tr.api(exc.message)]
        await _ask_name(ix, "; ".join(reasons), new=True)
        return
    ix.end_flow()
    ix.menu["project"] = project.hash
    ix.menu["project_name"] = project.name
    ix.menu["last_view"] = ["proj.open", project.hash]
    screen = render.project_detail(ix.tr, project)
    screen.text = ix.tr.t("project.renamed" if renaming else "project.created", name=project.name) + "\n\n" + screen.text
    await ix.show(screen, new=True)


@action("proj.del")
async def on_delete(ix: Interaction, arg: str) -> None:
    project_hash = ix.menu.get("project")
    if not project_hash:
        await ix.answer(ix.tr.plain("callback.expired"))
        return
    account = await ix.account()
    project = await account.client.projects.get(project_hash)
    ix.start_flow("project_delete", project=project.hash, project_name=project.name)
    await ix.show(render.project_delete_confirm(ix.tr, project))


@action("proj.delok", answers=True)
async def on_delete_ok(ix: Interaction, arg: str) -> None:
    flow = ix.flow
    if flow.get("name") != "project_delete":
        await ix.answer(ix.tr.plain("callback.done_already"))
        return
    await ix.answer()
    ix.end_flow()  # a second tap finds nothing to confirm
    account = await ix.account()
    await project_actions.delete_project(ix.services, ix.actor, account, flow["project"], flow["project_name"])
    ix.menu.pop("project", None)
    ix.menu["last_view"] = ["proj.list", "0"]
    await ix.show(render.project_deleted(ix.tr, flow["project_name"]))
