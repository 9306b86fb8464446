"""Servers: list per project, detail, root password, delete, and the create flow
(location → plan → OS → version → hostname → password → summary → confirm)."""
from __future__ import annotations

import asyncio
import re
import secrets
import string

from telegram import Message

from bot.actions import servers as server_actions
from bot.actions.base import OutcomeUnknown
from bot.handlers.base import ANSWER_MAX, Interaction, action, text_input
from bot.i18n import to_ascii_digits
from bot.manageit import errors as api_errors
from bot.ui import render

HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9\-.]+$")
HOSTNAME_MIN, HOSTNAME_MAX = 6, 100
PASSWORD_MIN, PASSWORD_MAX = 8, 100
STEPS = ["location", "plan", "os", "version", "hostname", "password", "summary"]
FLOW = "server_create"


def _page(arg: str) -> int:
    return int(arg) if arg.isdigit() else 0


def _project(ix: Interaction) -> str | None:
    return ix.menu.get("project")


async def _need_project(ix: Interaction) -> str | None:
    project = _project(ix)
    if project is None:
        await ix.answer(ix.tr.plain("callback.expired"))
    return project


# -- list, detail, password, delete -----------------------------------------------------
@action("srv.list")
async def on_list(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    ix.end_flow()
    ix.menu["last_view"] = ["srv.list", arg]
    account = await ix.account()
    project = await account.client.projects.get(project_hash)
    servers = await account.client.servers.list(project_hash)
    ix.menu["project_name"] = project.name
    await ix.show(render.server_list(ix.tr, project, servers, _page(arg)))


async def show_server(ix: Interaction, server_hash: str, *, new: bool = False) -> None:
    project_hash = _project(ix)
    ix.menu["last_view"] = ["srv.open", server_hash]
    account = await ix.account()
    server = await account.client.servers.get(project_hash, server_hash)
    plan = None
    if server.location is not None and server.plan_name:
        try:
            plans = await account.client.servers.plans(server.location.id)
            plan = next((p for p in plans if p.name == server.plan_name), None)
        except api_errors.ManageITError:
            plan = None  # the hourly price falls back to monthly / 720
    await ix.show(
        render.server_detail(ix.tr, server, hourly=render.hourly_price(server, plan), private=ix.is_private), new=new
    )


@action("srv.open")
async def on_open(ix: Interaction, arg: str) -> None:
    if await _need_project(ix) is None:
        return
    ix.end_flow()
    await show_server(ix, arg)


@action("srv.pw", answers=True)
async def on_password(ix: Interaction, arg: str) -> None:
    """The root password as an alert: never posted to a chat, only in a private one."""
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    if not ix.is_private:
        await ix.answer(ix.tr.plain("server.password_private_only"), alert=True)
        return
    account = await ix.account()
    fetch = asyncio.ensure_future(account.client.servers.get(project_hash, arg))
    done, _ = await asyncio.wait({fetch}, timeout=PASSWORD_ALERT_WAIT)
    if not done:  # slow API: stop the spinner now; the password comes as a private message
        await ix.answer()
    server = await fetch
    late = ix.answered  # the press was answered already: an alert would show nothing now
    if not server.password:
        if late:
            await ix.send(ix.tr.t("server.password_none"))
        else:
            await ix.answer(ix.tr.plain("server.password_none"), alert=True)
        return
    # the password exactly as it is: values are cleaned of invisible characters, a password must not be
    text = ix.tr.plain("server.password_alert", name=render.clip(server.name, 30),
                       password=render.Html(ix.tr.isolate(server.password)))
    if len(text) > ANSWER_MAX:
        text = server.password  # the password alone, whole, rather than a cut one
    if len(text) > ANSWER_MAX or late:  # too long for an alert, or too late: a private message
        await ix.answer()
        sent = await ix.send(render.password_message(ix.tr, server.name, server.password))
        if sent is not None:
            ix.context.job_queue.run_once(_delete_later, PASSWORD_MESSAGE_SECONDS,
                                          data=(ix.chat.id, sent.message_id))
        return
    await ix.answer(text, alert=True)


PASSWORD_MESSAGE_SECONDS = 60
PASSWORD_ALERT_WAIT = 5.0  # seconds a press may spin while the password is fetched


async def _delete_later(context) -> None:
    chat_id, message_id = context.job.data
    try:
        await context.bot.delete_message(chat_id=chat_id, message_id=message_id)
    except Exception:  # already gone
        pass


@action("srv.del")
async def on_delete(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    account = await ix.account()
    server = await account.client.servers.get(project_hash, arg)
    ix.start_flow("server_delete", server=server.hash, server_name=server.name)
    await ix.show(render.server_delete_confirm(ix.tr, server))


@action("srv.delok", answers=True)
async def on_delete_ok(ix: Interaction, arg: str) -> None:
    flow = ix.flow
    if flow.get("name") != "server_delete":
        await ix.answer(ix.tr.plain("callback.done_already"))
        return
    await ix.answer()
    ix.end_flow()  # a second tap finds nothing left to confirm
    account = await ix.account()
    await server_actions.delete_server(ix.services, ix.actor, account, _project(ix), flow["server"], flow["server_name"])
    ix.menu["last_view"] = ["srv.list", "0"]
    await ix.show(render.server_deleted(ix.tr, flow["server_name"]))


# -- create -----------------------------------------------------------------------------
def _stash_key(ix: Interaction) -> tuple[int, str]:
    return (ix.user.id, ix.menu_id or "")


def validate_hostname(text: str) -> tuple[str, str | None]:
    """Normalise (Persian/Arabic digits → ASCII, trim) and check as the API does.

    Returns the hostname and an error key (None when valid)."""
    hostname = to_ascii_digits(text.strip())
    if len(hostname) < HOSTNAME_MIN:
        return hostname, "create.hostname_short"
    if len(hostname) > HOSTNAME_MAX:
        return hostname, "create.hostname_long"
    if not HOSTNAME_RE.match(hostname):
        return hostname, "create.hostname_chars"
    # The API takes these, but no resolver or OS does: a label starts and ends with a
    # letter or digit, and labels are never empty.
    if any(not label or label[0] == "-" or label[-1] == "-" for label in hostname.split(".")):
        return hostname, "create.hostname_labels"
    return hostname, None


def generate_password(length: int = 18) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^*-_=+"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in pw) and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw)
                and any(not c.isalnum() for c in pw)):
            return pw


@action("srv.new")
async def on_new(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    await ix.account()
    ix.start_flow(FLOW, step="location", project=project_hash, project_name=ix.menu.get("project_name", ""))
    await _show_step(ix)


async def _show_step(ix: Interaction, *, error: str | None = None, typed: str | None = None, new: bool = False,
                     errors: tuple[str, ...] = ()) -> None:
    flow = ix.flow
    step = flow["step"]
    ix.menu["last_view"] = ["sc.step", ""]  # a Retry after a failure comes back to this step
    account = await ix.account()
    client = account.client
    ix.stop_awaiting()
    if step == "location":
        locations = [loc for loc in await client.servers.locations() if loc.visible]
        screen = render.pick_location(ix.tr, locations, flow.get("page", 0))
    elif step == "plan":
        plans = [p for p in await client.servers.plans(flow["location"]) if p.visible]
        screen = render.pick_plan(ix.tr, flow["location_name"], plans, flow.get("page", 0))
    elif step == "os":
        images = [img for img in await client.servers.os_images() if img.is_visible and img.visible_versions()]
        screen = render.pick_os(ix.tr, images, flow.get("page", 0))
    elif step == "version":
        image = next((i for i in await client.servers.os_images() if i.id == flow["os_image"]), None)
        if image is None:
            flow["step"] = "os"
            return await _show_step(ix, new=new)
        screen = render.pick_version(ix.tr, image, image.visible_versions(), flow.get("page", 0))
    elif step == "hostname":
        ix.await_text("hostname")
        screen = render.ask_hostname(ix.tr, error, typed)
    elif step == "password":
        ix.await_text("password")
        screen = render.ask_password(ix.tr, private=ix.is_private, error=error)
    else:
        screen = render.summary(ix.tr, flow, errors, private=ix.is_private)
    await ix.show(screen, new=new)
    if step == "hostname" and not ix.is_private:  # privacy mode: the answer must be a reply
        await ix.send(ix.tr.t("common.reply_here", user=render.Html(ix.mention())), force_reply=True)


def _flow_or_none(ix: Interaction, *steps: str) -> dict | None:
    flow = ix.flow
    if flow.get("name") != FLOW or (steps and flow.get("step") not in steps):
        return None
    return flow


async def _stale(ix: Interaction) -> None:
    await ix.answer(ix.tr.plain("callback.done_already"))


@action("sc.loc")
async def on_location(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "location")
    if flow is None or not arg.isdigit():
        return await _stale(ix)
    account = await ix.account()
    location = next((loc for loc in await account.client.servers.locations() if loc.id == int(arg)), None)
    if location is None:
        return await _stale(ix)
    flow.update(step="plan", location=location.id, location_name=location.name, page=0)
    await _show_step(ix)


@action("sc.step")
async def on_step_again(ix: Interaction, arg: str) -> None:
    """Retry after a failure: the wizard's step again, nothing chosen so far lost."""
    if _flow_or_none(ix, *STEPS) is None:
        return await on_list(ix, "0") if _project(ix) else await _stale(ix)
    await _show_step(ix)


@action("sc.page")
async def on_page(ix: Interaction, arg: str) -> None:
    """Another page of the list the step shows (locations, plans, OS images, versions)."""
    flow = _flow_or_none(ix, "location", "plan", "os", "version")
    if flow is None:
        return await _stale(ix)
    flow["page"] = _page(arg)
    await _show_step(ix)


@action("sc.plan")
async def on_plan(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "plan")
    if flow is None or not arg.isdigit():
        return await _stale(ix)
    account = await ix.account()
    plan = next((p for p in await account.client.servers.plans(flow["location"]) if p.id == int(arg)), None)
    if plan is None:
        return await _stale(ix)
    flow.update(step="os", plan=plan.id, plan_label=render.plan_label(ix.tr, plan),
                price_month=plan.price_per_month, price_hour=plan.price_per_hour, page=0)
    await _show_step(ix)


@action("sc.os")
async def on_os(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "os")
    if flow is None or not arg.isdigit():
        return await _stale(ix)
    flow.update(step="version", os_image=int(arg), page=0)
    await _show_step(ix)


@action("sc.ver")
async def on_version(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "version")
    if flow is None or not arg.isdigit():
        return await _stale(ix)
    account = await ix.account()
    image = next((i for i in await account.client.servers.os_images() if i.id == flow["os_image"]), None)
    version = next((v for v in image.visible_versions() if v.id == int(arg)), None) if image else None
    if version is None:
        return await _stale(ix)
    flow.update(step="hostname", os=version.id, os_label=f"{image.name} {version.version}")
    await _show_step(ix)


@text_input("hostname")
async def on_hostname(ix: Interaction, text: str, message: Message) -> None:
    flow = _flow_or_none(ix, "hostname")
    if flow is None:
        ix.stop_awaiting()
        return
    hostname, error = validate_hostname(text)
    if error:
        await _show_step(ix, error=ix.tr.plain(error, min=HOSTNAME_MIN, max=HOSTNAME_MAX), typed=hostname, new=True)
        return
    flow.update(step="password", hostname=hostname)
    await _show_step(ix, new=True)


@text_input("password")
async def on_password_text(ix: Interaction, text: str, message: Message) -> None:
    deleted = await ix.delete(message)  # a password never stays in the chat
    flow = _flow_or_none(ix, "password")
    if flow is None:
        ix.stop_awaiting()
        return
    if not ix.is_private:
        key = "create.password_typed_in_group" if deleted else "create.password_not_deleted"
        await _show_step(ix, error=ix.tr.plain(key), new=True)
        return
    password = text  # as typed: spaces may be part of it
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        await _show_step(ix, error=ix.tr.plain("create.password_length", min=PASSWORD_MIN, max=PASSWORD_MAX), new=True)
        return
    ix.services.secrets.put(_stash_key(ix), password)
    flow.update(step="summary", password_generated=False)
    await _show_step(ix, new=True)


@action("sc.genpw")
async def on_generate_password(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "password")
    if flow is None:
        return await _stale(ix)
    password = generate_password()
    ix.services.secrets.put(_stash_key(ix), password)
    flow.update(step="summary", password_generated=True)
    await _drop_password_message(ix)
    if ix.is_private:
        sent = await ix.send(render.generated_password(ix.tr, password))
        if sent is not None:
            flow["pw_msg"] = sent.message_id
    await _show_step(ix, new=ix.is_private)


async def _drop_password_message(ix: Interaction) -> None:
    msg_id = ix.flow.pop("pw_msg", None)
    if msg_id:
        try:
            await ix.context.bot.delete_message(chat_id=ix.chat.id, message_id=msg_id)
        except Exception:  # already gone
            pass


@action("sc.back")
async def on_back(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, *STEPS)
    if flow is None:
        return await _stale(ix)
    index = STEPS.index(flow["step"])
    if index == 0:  # back from the first step: where the flow began, the server list
        ix.end_flow()
        return await on_list(ix, "0")
    flow["step"] = STEPS[index - 1]
    flow["page"] = 0
    if flow["step"] == "password":
        ix.services.secrets.pop(_stash_key(ix))
        await _drop_password_message(ix)
    await _show_step(ix)


@action("sc.cancel")
async def on_cancel(ix: Interaction, arg: str) -> None:
    if _flow_or_none(ix, *STEPS) is None:
        return await _stale(ix)
    await _drop_password_message(ix)
    ix.services.secrets.pop(_stash_key(ix))
    ix.end_flow()
    await ix.show(render.cancelled(ix.tr))


@action("sc.confirm", answers=True)
async def on_confirm(ix: Interaction, arg: str) -> None:
    flow = _flow_or_none(ix, "summary")
    if flow is None:  # a second tap, or a stale summary: nothing is sent twice
        return await _stale(ix)
    await ix.answer()
    password = ix.services.secrets.pop(_stash_key(ix))
    if password is None:  # the bot restarted since: ask again rather than guess
        flow["step"] = "password"
        await _show_step(ix, error=ix.tr.plain("create.password_again"))
        return
    flow["step"] = "submitting"
    spec = server_actions.ServerSpec(
        project_hash=flow["project"], location=flow["location"], plan=flow["plan"], os=flow["os"],
        hostname=flow["hostname"], password=password,
    )
    await ix.show(render.creating(ix.tr, spec.hostname))
    account = await ix.account()
    try:
        server = await server_actions.create_server(ix.services, ix.actor, account, spec)
    except OutcomeUnknown:
        # Maybe ordered, maybe not: never offer Confirm again; send them to the list.
        await _drop_password_message(ix)
        ix.end_flow()
        ix.menu["last_view"] = ["srv.list", "0"]
        await ix.show(render.order_outcome_unknown(ix.tr, spec.hostname))
        return
    except api_errors.ManageITError as exc:
        # Back to the summary with the reason, so the user can fix a step or try again.
        ix.services.secrets.put(_stash_key(ix), password)
        flow["step"] = "summary"
        from bot.handlers.base import error_key, validation_lines

        key, values = error_key(exc)
        await _show_step(ix, errors=(ix.tr.plain(key, **values), *validation_lines(exc)))  # reason, then details
        return
    await _drop_password_message(ix)
    ix.end_flow()
    ix.menu["last_view"] = ["srv.open", server.hash]
    await ix.show(render.created(ix.tr, server))
