"""Load balancers: list per project, detail, health report, reinstall, delete, and two
flows that share their steps:

* create: name → location → plan → algorithm → targets → services → summary → confirm;
* change: a menu (rename, plan, algorithm, targets, services with SSL) → summary → PUT.

The flow lives in ``ix.flow`` as plain data. Targets are ``{"i", "ip", "server"}``,
services ``{"i", "src", "dst", "hc", "px", "ssl"}``; ``i`` is the short index a button
carries. Every Confirm moves the flow's step before the API call, so a second tap finds
nothing to send. Also in the flow: ``tpage`` / ``spage`` (the page of the targets step and
of the server picker), ``field_errors`` (a 422's messages by step, shown on that step until
the user changes it) and ``resume`` (a step reached from the create summary goes back to it).
"""
from __future__ import annotations

import ipaddress
import re

from telegram import Message

from bot.actions import load_balancers as lb_actions
from bot.handlers.base import Interaction, action, error_key, text_input, validation_lines
from bot.i18n import to_ascii_digits
from bot.manageit import errors as api_errors
from bot.manageit.models import LBPlan
from bot.ui import render, render_lb
from bot.ui.keyboards import PAGE_SIZE

NAME_RE = re.compile(r"^[a-zA-Z0-9\-.]+$")
NAME_MIN, NAME_MAX_CREATE, NAME_MAX_UPDATE = 6, 100, render_lb.NAME_MAX_UPDATE
PORT_MIN, PORT_MAX = 0, 65535
TARGET_MAX = 253
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
HOST_RE = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")

CREATE, EDIT = "lb_create", "lb_edit"
CREATE_STEPS = ["name", "location", "plan", "algorithm", "targets", "services", "summary"]
SUB_STEPS = {"target_pick": "targets", "target_type": "targets", "svc_src": "services", "svc_dst": "svc_src",
             "svc_opts": "svc_dst"}
ALL_STEPS = (*CREATE_STEPS, *SUB_STEPS, "edit")
TEXT_STEPS = {"name": "lb_name", "target_type": "lb_target", "svc_src": "lb_port", "svc_dst": "lb_port"}
EDIT_GOTO = ("name", "plan", "algorithm", "targets", "services", "summary")
# From the create summary every part can be reached; these come back to the summary when done.
SUMMARY_GOTO = ("name", "location", "plan", "algorithm")


# -- pure rules (unit-tested) --------------------------------------------------------------
def validate_name(text: str, *, updating: bool = False) -> tuple[str, str | None]:
    """The API's name rule: ^[a-zA-Z0-9-.]+$, 6–100 characters (6–50 on update)."""
    name = to_ascii_digits(text.strip())
    top = NAME_MAX_UPDATE if updating else NAME_MAX_CREATE
    if len(name) < NAME_MIN:
        return name, "lb.name_short"
    if len(name) > top:
        return name, "lb.name_long"
    if not NAME_RE.match(name):
        return name, "lb.name_chars"
    return name, None


def validate_port(text: str) -> tuple[int | None, str | None]:
    """A port 0–65535; Persian and Arabic digits are accepted."""
    value = to_ascii_digits(text.strip())
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        return None, "lb.port_invalid"
    number = int(value)
    if not PORT_MIN <= number <= PORT_MAX:
        return None, "lb.port_invalid"
    return number, None


def validate_target(text: str) -> tuple[str, str | None]:
    """An IPv4 / IPv6 address or a host name."""
    value = to_ascii_digits(text.strip())
    try:
        return str(ipaddress.ip_address(value)), None
    except ValueError:
        pass
    host = value.rstrip(".").lower()
    if (not host or len(host) > TARGET_MAX or not HOST_RE.match(host)
            or host.replace(".", "").isdigit()):  # 1.2.3.999 is a bad address, not a host name
        return value, "lb.target_invalid"
    return host, None


def change_kinds(flow: dict) -> list[str]:
    """Which parts of a load balancer the change flow alters (for the audit log)."""
    orig = flow["orig"]
    kinds = [k for k, o in (("name", "lb_name"), ("plan", "plan"), ("algorithm", "algorithm")) if flow[o] != orig[o]]
    if [t["ip"] for t in flow["targets"]] != orig["targets"]:
        kinds.append("targets")
    now = [{k: s[k] for k in ("src", "dst", "hc", "px")} for s in flow["services"]]
    if now != [{k: s[k] for k in ("src", "dst", "hc", "px")} for s in orig["services"]]:
        kinds.append("services")
    if [bool(s.get("ssl")) for s in flow["services"]] != [bool(s["ssl"]) for s in orig["services"]]:
        kinds.append("ssl")
    return kinds


def _page(arg: str) -> int:
    return int(arg) if arg.isdigit() else 0


def _hash_and_page(arg: str) -> tuple[str, int]:
    """ "<hash>" or "<hash>.<page>" (a paged screen's buttons)."""
    head, dot, tail = arg.rpartition(".")
    if dot and tail.isdigit():
        return head, int(tail)
    return arg, 0


def _project(ix: Interaction) -> str | None:
    return ix.menu.get("project")


async def _need_project(ix: Interaction) -> str | None:
    """The menu's project; None (and "expired" told) when the menu has none.

    The query is not answered here: the actions that use this answer before their first
    slow step (answers=False), so that `ix.show()` can still say "up to date" on a Refresh
    that changes nothing."""
    project = _project(ix)
    if project is None:
        await ix.answer(ix.tr.plain("callback.expired"))
    return project


def _plan_fields(plan: LBPlan | None, fallback_name: str = "") -> dict:
    if plan is None:
        return {"plan_name": fallback_name, "plan_performance": None, "plan_services": None, "plan_targets": None,
                "plan_price": 0}
    return {"plan": plan.id, "plan_name": plan.name, "plan_performance": plan.performance,
            "plan_services": plan.services, "plan_targets": plan.targets, "plan_price": plan.price}


def _flow_plan(flow: dict) -> LBPlan | None:
    if flow.get("plan_targets") is None:
        return None
    return LBPlan(id=flow["plan"], name=flow["plan_name"], performance=flow["plan_performance"] or 0,
                  services=flow["plan_services"], targets=flow["plan_targets"], price=flow["plan_price"])


# -- list, detail, health ----------------------------------------------------------------
@action("lb.list")
async def on_list(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    ix.end_flow()
    ix.menu["last_view"] = ["lb.list", str(_page(arg))]
    account = await ix.account()
    if not ix.menu.get("project_name"):
        ix.menu["project_name"] = (await account.client.projects.get(project_hash)).name
    lbs = await account.client.load_balancers.list(project_hash)
    await ix.show(render_lb.lb_list(ix.tr, project_hash, ix.menu["project_name"], lbs, _page(arg)))


async def _plan_of(account, plan_id: int) -> LBPlan | None:
    try:
        return next((p for p in await account.client.load_balancers.plans() if p.id == plan_id), None)
    except api_errors.ManageITError:
        return None  # the detail still shows the plan's name and price


async def show_lb(ix: Interaction, lb_hash: str, *, notice: str | None = None, new: bool = False) -> None:
    ix.menu["last_view"] = ["lb.open", lb_hash]
    account = await ix.account()
    lb = await account.client.load_balancers.get(_project(ix), lb_hash)
    plan = await _plan_of(account, lb.plan)
    await ix.show(render_lb.lb_detail(ix.tr, lb, plan, notice=notice), new=new)


@action("lb.open")
async def on_open(ix: Interaction, arg: str) -> None:
    if await _need_project(ix) is None or not arg:
        return
    ix.end_flow()
    await show_lb(ix, arg)


@action("lb.health")
async def on_health(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    lb_hash, page = _hash_and_page(arg)
    if project_hash is None or not lb_hash:
        return
    ix.end_flow()
    ix.menu["last_view"] = ["lb.health", arg]
    account = await ix.account()
    lb = await account.client.load_balancers.get(project_hash, lb_hash)
    reports = await account.client.load_balancers.reports(project_hash, lb_hash)
    await ix.show(render_lb.lb_health(ix.tr, lb, reports, page))


# -- reinstall, delete ---------------------------------------------------------------------
@action("lb.reinst")
async def on_reinstall(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None or not arg:
        return
    account = await ix.account()
    lb = await account.client.load_balancers.get(project_hash, arg)
    ix.start_flow("lb_reinstall", lb=lb.hash, lb_name=lb.name)
    await ix.show(render_lb.reinstall_confirm(ix.tr, lb))


@action("lb.reinstok", answers=True)
async def on_reinstall_ok(ix: Interaction, arg: str) -> None:
    flow = ix.flow
    if flow.get("name") != "lb_reinstall":
        await ix.answer(ix.tr.plain("callback.done_already"))
        return
    await ix.answer()
    ix.end_flow()  # a second tap finds nothing left to confirm
    account = await ix.account()
    lb = await lb_actions.reinstall_load_balancer(ix.services, ix.actor, account, _project(ix), flow["lb"], flow["lb_name"])
    ix.menu["last_view"] = ["lb.open", flow["lb"]]
    await ix.show(render_lb.reinstalled(ix.tr, lb))


@action("lb.del")
async def on_delete(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None or not arg:
        return
    account = await ix.account()
    lb = await account.client.load_balancers.get(project_hash, arg)
    ix.start_flow("lb_delete", lb=lb.hash, lb_name=lb.name)
    await ix.show(render_lb.delete_confirm(ix.tr, lb))


@action("lb.delok", answers=True)
async def on_delete_ok(ix: Interaction, arg: str) -> None:
    flow = ix.flow
    if flow.get("name") != "lb_delete":
        await ix.answer(ix.tr.plain("callback.done_already"))
        return
    await ix.answer()
    ix.end_flow()
    account = await ix.account()
    await lb_actions.delete_load_balancer(ix.services, ix.actor, account, _project(ix), flow["lb"], flow["lb_name"])
    ix.menu["last_view"] = ["lb.list", "0"]
    await ix.show(render_lb.deleted(ix.tr, flow["lb_name"]))


# -- starting the flows ----------------------------------------------------------------------
@action("lb.new")
async def on_new(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None:
        return
    await ix.account()  # no token: say so now, not after the name is typed
    ix.start_flow(CREATE, step="name", project=project_hash, project_name=ix.menu.get("project_name", ""),
                  lb_name="", algorithm=None, targets=[], services=[], seq=0)
    await _show_step(ix)


@action("lb.edit")
async def on_edit(ix: Interaction, arg: str) -> None:
    project_hash = await _need_project(ix)
    if project_hash is None or not arg:
        return
    account = await ix.account()
    lb = await account.client.load_balancers.get(project_hash, arg)
    plan = await _plan_of(account, lb.plan)
    targets = [{"i": n, "ip": t.ip, "server": ""} for n, t in enumerate(lb.targets)]
    services = [{"i": len(targets) + n, **render_lb.service_dict(s)} for n, s in enumerate(lb.services)]
    orig = {"lb_name": lb.name, "plan": lb.plan, "plan_name": lb.plan_name or (plan.name if plan else ""),
            "algorithm": lb.algorithm, "targets": [t["ip"] for t in targets],
            "services": [{k: s[k] for k in ("src", "dst", "hc", "px", "ssl")} for s in services]}
    flow = ix.start_flow(EDIT, step="edit", project=project_hash, project_name=ix.menu.get("project_name", ""),
                         lb=lb.hash, lb_name=lb.name, plan=lb.plan, algorithm=lb.algorithm, targets=targets,
                         services=services, seq=len(targets) + len(services), orig=orig)
    flow.update(_plan_fields(plan, lb.plan_name))
    flow["plan"] = lb.plan
    if plan is None:
        flow["plan_price"] = lb.price
    if render_lb.name_too_long(flow):
        # Created with up to 100 characters, but every PUT resends the name and an update
        # takes 50 at most: whatever is changed, ManageIT would refuse it. Rename first.
        flow["step"] = "name"
    await _show_step(ix)


# -- showing a step ----------------------------------------------------------------------------
async def _show_step(ix: Interaction, *, error: str | None = None, typed: str | None = None, new: bool = False,
                     errors: dict | None = None, top: tuple[str, ...] = ()) -> None:
    flow = ix.flow
    step = flow["step"]
    tr = ix.tr
    ix.menu["last_view"] = ["lbf.step", ""]  # a Retry after a failure comes back to this step
    ix.stop_awaiting()
    if step in TEXT_STEPS:
        ix.await_text(TEXT_STEPS[step])
    if step == "name":
        screen = render_lb.ask_name(tr, flow, error=error, typed=typed)
    elif step == "location":
        account = await ix.account()
        locations = [loc for loc in await account.client.load_balancers.locations() if loc.visible]
        screen = render_lb.pick_location(tr, flow, locations)
    elif step == "plan":
        account = await ix.account()
        screen = render_lb.pick_plan(tr, flow, await account.client.load_balancers.plans())
    elif step == "algorithm":
        screen = render_lb.pick_algorithm(tr, flow)
    elif step == "targets":
        screen = render_lb.targets_screen(tr, flow, error=error)
    elif step == "target_pick":
        screen = render_lb.pick_server(tr, flow, await _free_servers(ix, flow))
    elif step == "target_type":
        screen = render_lb.ask_target(tr, flow, error=error, typed=typed)
    elif step == "services":
        screen = render_lb.services_screen(tr, flow, error=error)
    elif step in ("svc_src", "svc_dst"):
        screen = render_lb.ask_port(tr, flow, "src" if step == "svc_src" else "dst", error=error, typed=typed)
    elif step == "svc_opts":
        screen = render_lb.service_options(tr, flow)
    elif step == "edit":
        screen = render_lb.edit_menu(tr, flow, error=error)
    elif flow["name"] == EDIT:
        screen = render_lb.edit_summary(tr, flow, flow.get("field_errors") if errors is None else errors, top)
    else:
        screen = render_lb.summary(tr, flow, flow.get("field_errors") if errors is None else errors, top)
    await ix.show(screen, new=new)
    if step in TEXT_STEPS and not ix.is_private:  # privacy mode: the answer must be a reply
        await ix.send(tr.t("common.reply_here", user=render.Html(ix.mention())), force_reply=True)


async def _free_servers(ix: Interaction, flow: dict):
    """The project's servers that have an IPv4 address that is not a target yet."""
    account = await ix.account()
    used = {t["ip"] for t in flow["targets"]}
    return [s for s in await account.client.servers.list(flow["project"]) if s.primary_ipv4 and s.primary_ipv4 not in used]


def _flow_or_none(ix: Interaction, *steps: str) -> dict | None:
    flow = ix.flow
    if flow.get("name") not in (CREATE, EDIT) or (steps and flow.get("step") not in steps):
        return None
    return flow


async def _guard(ix: Interaction, *steps: str) -> dict | None:
    """The flow if it is at one of `steps`; else tell the presser nothing was done."""
    flow = _flow_or_none(ix, *steps)
    if flow is None:
        await ix.answer(ix.tr.plain("callback.done_already"))
        return None
    await ix.answer()
    return flow


def _after(flow: dict, step: str) -> str:
    """Where a finished step leads: the next one when creating (or back to the summary
    it was reached from), the menu when changing."""
    if flow["name"] == EDIT:
        return "edit"
    if flow.pop("resume", None):
        return "summary"
    return CREATE_STEPS[CREATE_STEPS.index(step) + 1]


def _changed(flow: dict, part: str) -> None:
    """The user changed `part`: what ManageIT said about it no longer applies."""
    (flow.get("field_errors") or {}).pop(part, None)


def _limit_error(ix: Interaction, flow: dict, kind: str) -> str:
    return ix.tr.plain(f"lb.limit_{kind}", plan=flow["plan_name"], max=flow[f"plan_{kind}"])


async def _refresh_plan(ix: Interaction, flow: dict) -> None:
    """The chosen plan's limits as ManageIT states them now (a plan may shrink while the
    flow is open); the ones taken when it was chosen if it cannot be read."""
    if flow.get("plan") is None:
        return
    account = await ix.account()
    try:
        plan = next((p for p in await account.client.load_balancers.plans() if p.id == flow["plan"]), None)
    except api_errors.ManageITError:
        return
    if plan is not None:
        flow.update(_plan_fields(plan))


# -- steps -------------------------------------------------------------------------------------
@text_input("lb_name")
async def on_name_text(ix: Interaction, text: str, message: Message) -> None:
    flow = _flow_or_none(ix, "name")
    if flow is None:
        ix.stop_awaiting()
        return
    updating = flow["name"] == EDIT
    name, error = validate_name(text, updating=updating)
    if error:
        top = NAME_MAX_UPDATE if updating else NAME_MAX_CREATE
        await _show_step(ix, error=ix.tr.plain(error, min=NAME_MIN, max=top), typed=render.clip(name), new=True)
        return
    if name != flow["lb_name"]:
        _changed(flow, "name")
    flow.update(lb_name=name, step=_after(flow, "name"))
    await _show_step(ix, new=True)


@action("lbf.loc", answers=True)
async def on_location(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "location")
    if flow is None or not arg.isdigit():
        return
    account = await ix.account()
    location = next((loc for loc in await account.client.load_balancers.locations() if loc.id == int(arg)), None)
    if location is None:
        return await _show_step(ix)
    if location.id != flow.get("location"):
        _changed(flow, "location")
    flow.update(location=location.id, location_name=location.name)
    flow["step"] = "summary" if flow.pop("resume", None) else "plan"
    await _show_step(ix)


@action("lbf.plan", answers=True)
async def on_plan(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "plan")
    if flow is None or not arg.isdigit():
        return
    account = await ix.account()
    plan = next((p for p in await account.client.load_balancers.plans() if p.id == int(arg)), None)
    if plan is None:
        return await _show_step(ix)
    if plan.id != flow.get("plan"):
        _changed(flow, "plan")
    flow.update(_plan_fields(plan))
    flow["step"] = _after(flow, "plan")
    await _show_step(ix)


@action("lbf.algo", answers=True)
async def on_algorithm(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "algorithm")
    if flow is None or arg not in lb_actions.ALGORITHMS:
        return
    if arg != flow.get("algorithm"):
        _changed(flow, "algorithm")
    flow.update(algorithm=arg, step=_after(flow, "algorithm"))
    await _show_step(ix)


@action("lbf.tadd", answers=True)
async def on_target_add(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "targets")
    if flow is None or arg not in ("pick", "type"):
        return
    await _refresh_plan(ix, flow)
    if not render_lb.has_room(flow, "targets"):
        return await _show_step(ix, error=_limit_error(ix, flow, "targets"))
    flow["step"] = "target_pick" if arg == "pick" else "target_type"
    flow["spage"] = 0
    await _show_step(ix)


def _add_target(flow: dict, ip: str, server: str = "") -> None:
    flow["targets"].append({"i": flow["seq"], "ip": ip, "server": server})
    flow["seq"] += 1
    flow["tpage"] = (len(flow["targets"]) - 1) // PAGE_SIZE  # the page that shows the new one
    _changed(flow, "targets")


PAGED_STEPS = {"targets": "tpage", "target_pick": "spage"}  # step -> where its page number is kept


@action("lbf.page", answers=True)
async def on_page(ix: Interaction, arg: str) -> None:
    """Another page of the list the step shows (the targets, the servers to pick from)."""
    flow = await _guard(ix, *PAGED_STEPS)
    if flow is None:
        return
    flow[PAGED_STEPS[flow["step"]]] = _page(arg)
    await _show_step(ix)


@action("lbf.tsrv", answers=True)
async def on_target_server(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "target_pick")
    if flow is None:
        return
    flow["step"] = "targets"
    await _refresh_plan(ix, flow)
    if not render_lb.has_room(flow, "targets"):
        return await _show_step(ix, error=_limit_error(ix, flow, "targets"))
    server = next((s for s in await _free_servers(ix, flow) if s.hash == arg), None)
    if server is not None:
        _add_target(flow, server.primary_ipv4, server.name)
    await _show_step(ix)


@text_input("lb_target")
async def on_target_text(ix: Interaction, text: str, message: Message) -> None:
    flow = _flow_or_none(ix, "target_type")
    if flow is None:
        ix.stop_awaiting()
        return
    await _refresh_plan(ix, flow)
    if not render_lb.has_room(flow, "targets"):
        flow["step"] = "targets"
        return await _show_step(ix, error=_limit_error(ix, flow, "targets"), new=True)
    value, error = validate_target(text)
    if error is None and any(t["ip"] == value for t in flow["targets"]):
        error = "lb.target_duplicate"
    if error:
        await _show_step(ix, error=ix.tr.plain(error), typed=render.clip(value), new=True)
        return
    _add_target(flow, value)
    flow["step"] = "targets"
    await _show_step(ix, new=True)


@action("lbf.trm", answers=True)
async def on_target_remove(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "targets")
    if flow is None:
        return
    before = len(flow["targets"])
    flow["targets"] = [t for t in flow["targets"] if str(t["i"]) != arg]
    if len(flow["targets"]) != before:
        _changed(flow, "targets")
    await _show_step(ix)


@action("lbf.sadd", answers=True)
async def on_service_add(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "services")
    if flow is None:
        return
    await _refresh_plan(ix, flow)
    if not render_lb.has_room(flow, "services"):
        return await _show_step(ix, error=_limit_error(ix, flow, "services"))
    flow.update(step="svc_src", draft={"hc": True, "px": False})
    await _show_step(ix)


@text_input("lb_port")
async def on_port_text(ix: Interaction, text: str, message: Message) -> None:
    flow = _flow_or_none(ix, "svc_src", "svc_dst")
    if flow is None:
        ix.stop_awaiting()
        return
    number, error = validate_port(text)
    typed = render.clip(text.strip())  # echoed back as typed: it may be 4000 characters
    if error is None and flow["step"] == "svc_src" and any(s["src"] == number for s in flow["services"]):
        error = "lb.port_taken"
    if error:
        port = render_lb.port(ix.tr, number) if number is not None else typed  # in the user's digits
        await _show_step(ix, error=ix.tr.plain(error, port=port, min=PORT_MIN, max=PORT_MAX), typed=typed, new=True)
        return
    if flow["step"] == "svc_src":
        flow["draft"]["src"] = number
        flow["step"] = "svc_dst"
    else:
        flow["draft"]["dst"] = number
        flow["step"] = "svc_opts"
    await _show_step(ix, new=True)


@action("lbf.opt", answers=True)
async def on_service_option(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "svc_opts")
    if flow is None or arg not in ("hc", "px"):
        return
    flow["draft"][arg] = not flow["draft"].get(arg, False)
    await _show_step(ix)  # the same message, its buttons in their new state


@action("lbf.sok", answers=True)
async def on_service_save(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "svc_opts")
    if flow is None:
        return
    draft = flow.pop("draft", {})
    flow["step"] = "services"
    await _refresh_plan(ix, flow)
    if not render_lb.has_room(flow, "services"):
        return await _show_step(ix, error=_limit_error(ix, flow, "services"))
    if "src" in draft and "dst" in draft and not any(s["src"] == draft["src"] for s in flow["services"]):
        flow["services"].append({"i": flow["seq"], "src": draft["src"], "dst": draft["dst"],
                                 "hc": bool(draft.get("hc")), "px": bool(draft.get("px")), "ssl": False,
                                 "protocol": "tcp"})
        flow["seq"] += 1
        _changed(flow, "services")
    await _show_step(ix)


@action("lbf.srm", answers=True)
async def on_service_remove(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "services")
    if flow is None:
        return
    before = len(flow["services"])
    flow["services"] = [s for s in flow["services"] if str(s["i"]) != arg]
    if len(flow["services"]) != before:
        _changed(flow, "services")
    await _show_step(ix)


@action("lbf.ssl", answers=True)
async def on_service_ssl(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "services")
    if flow is None or flow["name"] != EDIT:  # creating takes no SSL setting
        return
    for s in flow["services"]:
        if str(s["i"]) == arg:
            s["ssl"] = not s.get("ssl", False)
            _changed(flow, "services")
    await _show_step(ix)


@action("lbf.next", answers=True)
async def on_next(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "targets", "services")
    if flow is None:
        return
    kind = flow["step"]
    if kind in render_lb.over_limit(flow):
        return await _show_step(ix)
    flow["step"] = _after(flow, kind)
    await _show_step(ix)


@action("lbf.go", answers=True)
async def on_goto(ix: Interaction, arg: str) -> None:
    """Jump to a part: from the change menu, or from the create summary to any step (a 422
    names the part it is about; name to algorithm come back to the summary when done)."""
    flow = await _guard(ix, "edit", "summary")
    if flow is None:
        return
    if flow["name"] == CREATE:
        if flow["step"] != "summary" or arg not in (*SUMMARY_GOTO, "targets", "services"):
            return
        flow.pop("resume", None)
        if arg in SUMMARY_GOTO:
            flow["resume"] = "summary"
    elif arg not in EDIT_GOTO:
        return
    if arg == "summary" and (not render_lb.changes(ix.tr, flow) or render_lb.name_too_long(flow)):
        return await _show_step(ix)
    flow["step"] = arg
    await _show_step(ix)


@action("lbf.step", answers=True)
async def on_step_again(ix: Interaction, arg: str) -> None:
    """Retry after a failure: the wizard's step again, nothing chosen so far lost."""
    flow = await _guard(ix, *ALL_STEPS)
    if flow is None:
        return
    await _show_step(ix)


@action("lbf.back", answers=True)
async def on_back(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, *ALL_STEPS)
    if flow is None:
        return
    step = flow["step"]
    if step in SUB_STEPS:
        flow["step"] = SUB_STEPS[step]
        if flow["step"] == "services":
            flow.pop("draft", None)
    elif flow["name"] == EDIT:
        if step == "edit":
            return await _cancel(ix, flow)
        flow["step"] = "edit"
    elif flow.pop("resume", None) and step in SUMMARY_GOTO:
        flow["step"] = "summary"  # reached from the summary: back to it, nothing changed
    else:
        index = CREATE_STEPS.index(step)
        if index == 0:  # back from the first step: where the flow began, the list
            ix.end_flow()
            await ix.answer()
            return await on_list(ix, "0")
        flow["step"] = CREATE_STEPS[index - 1]
    await _show_step(ix)


@action("lbf.cancel", answers=True)
async def on_cancel(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, *ALL_STEPS)
    if flow is None:
        return
    await _cancel(ix, flow)


async def _cancel(ix: Interaction, flow: dict) -> None:
    ix.end_flow()
    if flow["name"] == EDIT:
        await show_lb(ix, flow["lb"], notice=ix.tr.t("lb.edit.cancelled"))
    else:
        ix.menu["last_view"] = ["lb.list", "0"]
        await ix.show(render_lb.cancelled(ix.tr))


def _services_spec(flow: dict) -> tuple[lb_actions.ServiceSpec, ...]:
    return tuple(lb_actions.ServiceSpec(s["src"], s["dst"], bool(s["hc"]), bool(s["px"]), bool(s.get("ssl")))
                 for s in flow["services"])


@action("lbf.confirm", answers=True)
async def on_confirm(ix: Interaction, arg: str) -> None:
    flow = await _guard(ix, "summary")
    if flow is None:  # a second tap, or a stale summary: nothing is sent twice
        return
    if render_lb.over_limit(flow) or (flow["name"] == EDIT and (not render_lb.changes(ix.tr, flow)
                                                                 or render_lb.name_too_long(flow))):
        return await _show_step(ix)
    flow["step"] = "submitting"
    account = await ix.account()
    try:
        if flow["name"] == CREATE:
            spec = lb_actions.LBSpec(
                project_hash=flow["project"], name=flow["lb_name"], location=flow["location"], plan=flow["plan"],
                algorithm=flow["algorithm"], targets=tuple(t["ip"] for t in flow["targets"]),
                services=_services_spec(flow),
            )
            await ix.show(render_lb.creating(ix.tr, spec.name))
            lb = await lb_actions.create_load_balancer(ix.services, ix.actor, account, spec)
        else:
            spec = lb_actions.LBUpdate(
                project_hash=flow["project"], lb_hash=flow["lb"], name=flow["lb_name"], plan=flow["plan"],
                algorithm=flow["algorithm"], targets=tuple(t["ip"] for t in flow["targets"]),
                services=_services_spec(flow),
                changes=tuple(change_kinds(flow)),
            )
            await ix.show(render_lb.saving(ix.tr, flow["orig"]["lb_name"]))
            lb = await lb_actions.update_load_balancer(ix.services, ix.actor, account, spec)
    except api_errors.ManageITError as exc:
        # Back to the summary with the reason beside the part it is about.
        flow["step"] = "summary"
        key, values = error_key(exc)
        fields = exc.errors if isinstance(exc, api_errors.ValidationFailed) and exc.errors else {}
        grouped = render_lb.group_errors(fields)
        if fields:  # each part's messages stay on its step until the user changes that part
            flow["field_errors"] = {k: v for k, v in grouped.items() if k}
        else:
            grouped = {**(flow.get("field_errors") or {}), "": validation_lines(exc)}
        await _show_step(ix, errors=grouped, top=(ix.tr.plain(key, **values),))
        return
    ix.end_flow()
    ix.menu["last_view"] = ["lb.open", lb.hash]
    if flow["name"] == CREATE:
        await ix.show(render_lb.created(ix.tr, lb))
    else:
        plan = _flow_plan(flow) if lb.plan == flow["plan"] else None
        await ix.show(render_lb.lb_detail(ix.tr, lb, plan, notice=ix.tr.t("lb.saved")))
