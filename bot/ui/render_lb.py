"""Load balancer screens: list, detail, health, reinstall/delete confirmations and the
create / change flows. Plain data (flow dicts) and models in, Screens out.

Flow data (see `bot.handlers.load_balancers`): targets are ``{"i", "ip", "server"}``,
services ``{"i", "src", "dst", "hc", "px", "ssl"}``; ``i`` is the short index the
buttons carry.
"""
from __future__ import annotations

import html
from typing import Mapping, Sequence

from bot.i18n import Html, Translator
from bot.manageit.models import BackendServer, LBPlan, LoadBalancer, Location, Server
from bot.ui.keyboards import PAGE_SIZE, Button, Page, Screen, paginate, pager_row
from bot.ui.render import back, clip, status_text

CREATE_TOTAL = 7
CREATE_NUMBERS = {"name": 1, "location": 2, "plan": 3, "algorithm": 4, "targets": 5, "target_pick": 5,
                  "target_type": 5, "services": 6, "svc_src": 6, "svc_dst": 6, "svc_opts": 6, "summary": 7}
# Where a 422 field belongs: the first part of its name ("targets.1.ip" → targets).
FIELD_STEPS = ("name", "location", "plan", "algorithm", "targets", "services")
NAME_MAX_UPDATE = 50  # the API's limit on a name sent by an update (every PUT resends it)
# Telegram refuses a message over 4096 characters; a long list is cut or paged so that
# every screen fits for the biggest plan (150 targets, 30 services).
LIST_MAX = PAGE_SIZE  # targets / services listed on the detail and the create summary
CHANGES_MAX = 10  # change lines listed on the change menu and its summary
ERRORS_MAX = 5  # API messages shown for one part
ERROR_MAX = 200  # characters of one API message
HEALTH_LINES = 24  # target lines on one page of the health report, shared among its backends
HEALTH_MIN = 2  # target lines a backend gets at least
ADDRESS_MAX = 64  # characters of a target's address in a list (an IPv6 address has at most 39)
SERVER_MAX = 48  # characters of a server's name beside its address
BACKEND_MAX = 48  # characters of a backend's name


def _lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p is not None)


def _code(tr: Translator, text: str) -> Html:
    return Html(f"<code>{tr.isolate(html.escape(text, quote=False))}</code>")


def _address(tr: Translator, address: str) -> Html:
    """A target's address in a list: a host name may have 253 characters, 150 of them 38,000."""
    return _code(tr, clip(address, ADDRESS_MAX))


def port(tr: Translator, value: int) -> str:
    """A port without thousands separators, in the language's digits."""
    return tr.digits(str(value))


def algorithm_name(tr: Translator, algorithm: str | None) -> str:
    if algorithm in ("roundrobin", "leastconn"):
        return tr.plain(f"lb.algo.{algorithm}")
    return algorithm or "—"


def _onoff(tr: Translator, value: bool) -> str:
    return tr.plain("lb.on" if value else "lb.off")


def _more(tr: Translator, total: int, shown: int) -> list[str]:
    """The line "… and N more" under a list cut at `shown` items."""
    return [tr.t("lb.more", count=total - shown)] if total > shown else []


def _error_lines(tr: Translator, errors: Sequence[str] | None) -> list[str]:
    unique = list(dict.fromkeys(errors or ()))  # 150 targets can bring 150 alike messages
    lines = [tr.t("common.error_line", error=clip(tr.api(e), ERROR_MAX)) for e in unique[:ERRORS_MAX]]
    return lines + _more(tr, len(unique), ERRORS_MAX)


def field_errors(flow: dict, step: str) -> list[str]:
    """What ManageIT said about a part on the last Confirm, until the user changes that part."""
    return list((flow.get("field_errors") or {}).get(step, ()))


def name_too_long(flow: dict) -> bool:
    """Changing: the name is longer than an update may send (the create limit is 100)."""
    return flow.get("name") == "lb_edit" and len(flow.get("lb_name") or "") > NAME_MAX_UPDATE


def _name_warning(tr: Translator, flow: dict) -> list[str]:
    if not name_too_long(flow):
        return []
    return [tr.t("lb.edit.name_too_long", length=len(flow["lb_name"]), max=NAME_MAX_UPDATE)]


def _pager(tr: Translator, page: Page, action: str, prefix: str = "") -> list[Button]:
    """« 2/5 » buttons; with `prefix`, the argument is "<prefix>.<page>"."""
    row = pager_row(page, action, tr.plain("btn.page", current=page.number + 1, total=page.count))
    if not prefix:
        return row
    return [b if b.action == "noop" else Button(b.label, b.action, f"{prefix}.{b.arg}") for b in row]


def _nav(tr: Translator, *, back_to: bool = True) -> list[Button]:
    row = [Button(tr.plain("btn.back"), "lbf.back")] if back_to else []
    row.append(Button(tr.plain("btn.cancel"), "lbf.cancel"))
    return row


def _head(tr: Translator, flow: dict) -> str:
    if flow.get("name") == "lb_edit":
        return tr.t("lb.edit.title", name=flow["orig"]["lb_name"])
    return tr.t("lb.create.step", number=CREATE_NUMBERS.get(flow.get("step", ""), CREATE_TOTAL), total=CREATE_TOTAL)


def service_text(tr: Translator, svc: Mapping, *, with_ssl: bool = True, bullet: bool = True) -> str:
    key = "lb.service_desc" if with_ssl else "lb.service_desc_new"
    return ("• " if bullet else "") + tr.t(
        key,
        protocol=str(svc.get("protocol", "tcp")).upper(),
        source=port(tr, svc["src"]),
        destination=port(tr, svc["dst"]),
        health=_onoff(tr, svc["hc"]),
        proxy=_onoff(tr, svc["px"]),
        ssl=_onoff(tr, svc.get("ssl", False)),
    )


def target_text(tr: Translator, target: Mapping) -> str:
    if target.get("server"):
        return tr.t("lb.target_line_server", address=_address(tr, target["ip"]),
                    server=clip(target["server"], SERVER_MAX))
    return tr.t("lb.target_line", address=_address(tr, target["ip"]))


def target_label(target: Mapping) -> str:
    return target.get("server") or target["ip"]


def plan_label(tr: Translator, plan: LBPlan) -> str:
    return tr.plain("lb.plan_item", name=plan.name, performance=plan.performance, services=plan.services,
                    targets=plan.targets, price=tr.price(plan.price))


def service_dict(svc) -> dict:
    """An `LBService` as flow data (without the index)."""
    return {"src": svc.source_port, "dst": svc.destination_port, "hc": svc.health_check, "px": svc.proxy,
            "ssl": svc.use_ssl, "protocol": svc.protocol or "tcp"}


# -- list, detail ------------------------------------------------------------------------
def lb_list(tr: Translator, project_hash: str, project_name: str, lbs: Sequence[LoadBalancer], page: int) -> Screen:
    pg = paginate(list(lbs), page)
    if lbs:
        head = tr.t("lb.list.title", project=project_name, count=len(lbs))
        lines = [
            tr.t("lb.list.line", name=lb.name, plan=lb.plan_name or "—", algorithm=algorithm_name(tr, lb.algorithm),
                 status=status_text(tr, lb.status), ip=_code(tr, lb.primary_ipv4) if lb.primary_ipv4 else "—")
            for lb in pg.items
        ]
        text = _lines(head, "", *lines)
    else:
        text = tr.t("lb.list.empty", project=project_name)
    rows = [[Button(tr.plain("lb.list.item", name=lb.name, status=status_text(tr, lb.status)), "lb.open", lb.hash)]
            for lb in pg.items]
    rows.append(pager_row(pg, "lb.list", tr.plain("btn.page", current=pg.number + 1, total=pg.count)))
    rows.append([Button(tr.plain("lb.btn.new"), "lb.new")])
    rows.append([back(tr, "proj.open", project_hash)])
    return Screen(text, rows)


def _ips(tr: Translator, lb: LoadBalancer) -> str:
    if not lb.ips:
        return tr.t("lb.no_ips")
    return "\n".join(tr.t("lb.ip_line", kind=ip.type, ip=_code(tr, ip.ip)) for ip in lb.ips)


def lb_detail(tr: Translator, lb: LoadBalancer, plan: LBPlan | None, *, notice: str | None = None) -> Screen:
    if plan is not None:
        plan_text = tr.t("lb.detail_plan", name=plan.name, performance=plan.performance, services=plan.services,
                         targets=plan.targets)
    else:
        plan_text = tr.t("lb.detail_plan_bare", name=lb.plan_name or "—")
    services = [service_dict(s) for s in lb.services]
    text = tr.t(
        "lb.detail",
        name=lb.name,
        status=status_text(tr, lb.status),
        real_status=status_text(tr, lb.real_status),
        location=lb.location.name if lb.location else "—",
        plan=Html(plan_text),
        monthly=tr.price(plan.price if plan is not None and plan.price else lb.price),
        algorithm=algorithm_name(tr, lb.algorithm),
        created=tr.ago(lb.created_at_text),
        ips=Html(_ips(tr, lb)),
        services_count=len(services),
        services=Html(_lines(*[service_text(tr, s) for s in services[:LIST_MAX]], *_more(tr, len(services), LIST_MAX))
                      or tr.t("lb.none")),
        targets_count=len(lb.targets),
        targets=Html(_lines(*[tr.t("lb.target_line", address=_address(tr, t.ip)) for t in lb.targets[:LIST_MAX]],
                            *_more(tr, len(lb.targets), LIST_MAX)) or tr.t("lb.none")),
    )
    if notice:
        text = notice + "\n\n" + text
    rows = [
        [Button(tr.plain("btn.refresh"), "lb.open", lb.hash), Button(tr.plain("lb.btn.health"), "lb.health", lb.hash)],
        [Button(tr.plain("lb.btn.edit"), "lb.edit", lb.hash), Button(tr.plain("lb.btn.reinstall"), "lb.reinst", lb.hash)],
        [Button(tr.plain("btn.delete"), "lb.del", lb.hash)],
        [back(tr, "lb.list", "0")],
    ]
    return Screen(text, rows)


def _health_address(tr: Translator, s: BackendServer) -> Html:
    return _address(tr, f"{s.server}:{s.port}" if s.port else s.server)


def _backend_lines(tr: Translator, servers: Sequence[BackendServer], room: int) -> list[str]:
    """A backend's targets, DOWN first; when they are more than `room`, the UP ones as a count."""
    down = [s for s in servers if not s.is_up]
    up = [s for s in servers if s.is_up]
    if not servers:
        return [tr.t("lb.none")]
    if len(servers) <= room:
        return [tr.t("lb.health.up" if s.is_up else "lb.health.down", address=_health_address(tr, s))
                for s in (*down, *up)]
    lines = [tr.t("lb.health.down", address=_health_address(tr, s)) for s in down[:room]]
    if len(down) > room:
        lines.append(tr.t("lb.health.down_more", count=len(down) - room))
    if up:
        lines.append(tr.t("lb.health.up_count", count=len(up)))
    return lines


def lb_health(tr: Translator, lb: LoadBalancer, reports: Mapping[str, Sequence[BackendServer]],
              page: int = 0) -> Screen:
    """The health report, paged by backend (at most PAGE_SIZE a page); a backend with more
    targets than its share of the page lists the DOWN ones and counts the UP ones."""
    parts = [tr.t("lb.health.title", name=lb.name)]
    running = lb.real_status.strip().lower() == "started" if lb.real_status else False
    if not running:
        now = lb.status if lb.status and lb.status.strip().lower() != "active" else lb.real_status
        parts.append(tr.t("lb.health.not_running", status=status_text(tr, now)))
    pg = paginate(list(reports.items()), page)
    if not reports:
        parts += ["", tr.t("lb.health.empty")]
    elif pg.count > 1:
        first = pg.number * PAGE_SIZE + 1
        parts.append(tr.t("lb.health.range", first=first, last=first + len(pg.items) - 1, total=len(reports)))
    room = max(HEALTH_MIN, HEALTH_LINES // max(1, len(pg.items)))
    for backend, servers in pg.items:
        up = sum(1 for s in servers if s.is_up)
        parts += ["", tr.t("lb.health.backend", backend=clip(backend, BACKEND_MAX), up=up, total=len(servers))]
        parts += _backend_lines(tr, servers, room)
    rows = [
        _pager(tr, pg, "lb.health", lb.hash),
        [Button(tr.plain("btn.refresh"), "lb.health", f"{lb.hash}.{pg.number}" if pg.number else lb.hash)],
        [back(tr, "lb.open", lb.hash)],
    ]
    return Screen(_lines(*parts), rows)


def reinstall_confirm(tr: Translator, lb: LoadBalancer) -> Screen:
    return Screen(
        tr.t("lb.reinstall_confirm", name=lb.name, ip=lb.primary_ipv4 or "—"),
        [[Button(tr.plain("lb.btn.reinstall_yes"), "lb.reinstok"), Button(tr.plain("btn.cancel"), "lb.open", lb.hash)]],
    )


def reinstalled(tr: Translator, lb: LoadBalancer) -> Screen:
    return Screen(
        tr.t("lb.reinstalling", name=lb.name, status=status_text(tr, lb.status)),
        [[Button(tr.plain("lb.btn.open"), "lb.open", lb.hash)], [Button(tr.plain("btn.main_menu"), "main")]],
    )


def delete_confirm(tr: Translator, lb: LoadBalancer) -> Screen:
    return Screen(
        tr.t("lb.delete_confirm", name=lb.name, ip=lb.primary_ipv4 or "—"),
        [[Button(tr.plain("btn.delete_yes"), "lb.delok"), Button(tr.plain("btn.cancel"), "lb.open", lb.hash)]],
    )


def deleted(tr: Translator, name: str) -> Screen:
    return Screen(
        tr.t("lb.deleted", name=name),
        [[Button(tr.plain("btn.load_balancers"), "lb.list", "0")], [Button(tr.plain("btn.main_menu"), "main")]],
    )


# -- the create / change flows -------------------------------------------------------------
def ask_name(tr: Translator, flow: dict, *, error: str | None = None, typed: str | None = None) -> Screen:
    if flow.get("name") == "lb_edit":
        prompt = tr.t("lb.edit.ask_name", name=flow["lb_name"])
    else:
        prompt = tr.t("lb.create.name")
    text = _lines(_head(tr, flow), *_name_warning(tr, flow), prompt, *_error_lines(tr, field_errors(flow, "name")),
                  _input_error(tr, error, typed))
    return Screen(text, [_nav(tr)])


def _input_error(tr: Translator, error: str | None, typed: str | None) -> str | None:
    """The reason a typed answer was refused, with what was typed (clipped: it may be 4000 characters)."""
    return tr.t("lb.input_error", error=error, typed=clip(typed or "")) if error else None


def pick_location(tr: Translator, flow: dict, locations: Sequence[Location]) -> Screen:
    rows = [[Button(loc.name + (" ★" if loc.is_default else ""), "lbf.loc", str(loc.id))] for loc in locations]
    rows.append(_nav(tr))
    text = _lines(_head(tr, flow), tr.t("lb.create.location", name=flow["lb_name"]),
                  *_error_lines(tr, field_errors(flow, "location")))
    return Screen(text, rows)


def pick_plan(tr: Translator, flow: dict, plans: Sequence[LBPlan]) -> Screen:
    lines = [
        tr.t("lb.plan_line", name=p.name, performance=p.performance, services=p.services, targets=p.targets,
             price=tr.price(p.price))
        for p in plans
    ]
    if flow.get("name") == "lb_edit":
        intro = tr.t("lb.edit.plan", plan=flow["plan_name"])
    else:
        intro = tr.t("lb.create.plan", location=flow["location_name"])
    rows = [[Button(plan_label(tr, p), "lbf.plan", str(p.id))] for p in plans]
    rows.append(_nav(tr))
    return Screen(_lines(_head(tr, flow), intro, *lines, *_error_lines(tr, field_errors(flow, "plan"))), rows)


def pick_algorithm(tr: Translator, flow: dict) -> Screen:
    text = _lines(
        _head(tr, flow),
        tr.t("lb.pick_algorithm"),
        tr.t("lb.algo_line", name=tr.plain("lb.algo.roundrobin"), help=tr.plain("lb.algo.roundrobin_help")),
        tr.t("lb.algo_line", name=tr.plain("lb.algo.leastconn"), help=tr.plain("lb.algo.leastconn_help")),
        *_error_lines(tr, field_errors(flow, "algorithm")),
    )
    rows = []
    for algo in ("roundrobin", "leastconn"):
        label = tr.plain(f"lb.algo.{algo}")
        if flow.get("algorithm") == algo:
            label = tr.plain("lb.btn.current", label=label)
        rows.append([Button(label, "lbf.algo", algo)])
    rows.append(_nav(tr))
    return Screen(text, rows)


def _limit_lines(tr: Translator, flow: dict, kind: str) -> list[str]:
    limit = flow.get(f"plan_{kind}")
    count = len(flow[kind])
    if limit is None:
        return []
    if count > limit:
        return [tr.t(f"lb.{kind}.over", plan=flow["plan_name"], max=limit, extra=count - limit)]
    if count == limit:
        return [tr.t(f"lb.{kind}.full", plan=flow["plan_name"], max=limit)]
    return []


def _count(tr: Translator, flow: dict, kind: str) -> str:
    limit = flow.get(f"plan_{kind}")
    if limit is None:
        return tr.t("lb.count_only", count=len(flow[kind]))
    return tr.t("lb.count_of", count=len(flow[kind]), max=limit)


def has_room(flow: dict, kind: str) -> bool:
    limit = flow.get(f"plan_{kind}")
    return limit is None or len(flow[kind]) < limit


def over_limit(flow: dict) -> list[str]:
    """The kinds ('targets', 'services') that hold more than the chosen plan allows."""
    return [k for k in ("targets", "services") if flow.get(f"plan_{k}") is not None and len(flow[k]) > flow[f"plan_{k}"]]


def _done_button(tr: Translator, flow: dict) -> Button:
    key = "lb.btn.done" if flow.get("name") == "lb_edit" else "lb.btn.next"
    return Button(tr.plain(key), "lbf.next")


def targets_screen(tr: Translator, flow: dict, *, error: str | None = None) -> Screen:
    """The targets, a page (PAGE_SIZE) at a time, each with its Remove button."""
    pg = paginate(flow["targets"], flow.get("tpage", 0))
    items = [target_text(tr, t) for t in pg.items] or [tr.t("lb.none")]
    text = _lines(
        _head(tr, flow),
        tr.t("lb.targets.title", count=Html(_count(tr, flow, "targets"))),
        tr.t("lb.targets.help"),
        *items,
        *_limit_lines(tr, flow, "targets"),
        *_error_lines(tr, field_errors(flow, "targets")),
        *_error_lines(tr, [error] if error else None),
    )
    rows: list[list[Button]] = []
    if has_room(flow, "targets"):
        rows.append([Button(tr.plain("lb.btn.from_servers"), "lbf.tadd", "pick"),
                     Button(tr.plain("lb.btn.type_target"), "lbf.tadd", "type")])
    rows += [[Button(tr.plain("lb.btn.remove", item=target_label(t)), "lbf.trm", str(t["i"]))] for t in pg.items]
    rows.append(_pager(tr, pg, "lbf.page"))
    if "targets" not in over_limit(flow):
        rows.append([_done_button(tr, flow)])
    rows.append(_nav(tr))
    return Screen(text, rows)


def pick_server(tr: Translator, flow: dict, servers: Sequence[Server]) -> Screen:
    if servers:
        text = _lines(_head(tr, flow), tr.t("lb.pick_server", project=flow["project_name"]))
    else:
        text = _lines(_head(tr, flow), tr.t("lb.pick_server_none", project=flow["project_name"]))
    pg = paginate(list(servers), flow.get("spage", 0))
    rows = [[Button(tr.plain("lb.server_item", name=s.name, ip=s.primary_ipv4 or ""), "lbf.tsrv", s.hash)]
            for s in pg.items]
    rows.append(_pager(tr, pg, "lbf.page"))
    rows.append(_nav(tr))
    return Screen(text, rows)


def ask_target(tr: Translator, flow: dict, *, error: str | None = None, typed: str | None = None) -> Screen:
    text = _lines(_head(tr, flow), tr.t("lb.ask_target"), _input_error(tr, error, typed))
    return Screen(text, [_nav(tr)])


def services_screen(tr: Translator, flow: dict, *, error: str | None = None) -> Screen:
    edit = flow.get("name") == "lb_edit"
    items = [service_text(tr, s, with_ssl=edit) for s in flow["services"]] or [tr.t("lb.none")]
    text = _lines(
        _head(tr, flow),
        tr.t("lb.services.title", count=Html(_count(tr, flow, "services"))),
        tr.t("lb.services.help_edit" if edit else "lb.services.help"),
        *items,
        *_limit_lines(tr, flow, "services"),
        *_error_lines(tr, field_errors(flow, "services")),
        *_error_lines(tr, [error] if error else None),
    )
    rows: list[list[Button]] = []
    if has_room(flow, "services"):
        rows.append([Button(tr.plain("lb.btn.add_service"), "lbf.sadd")])
    for s in flow["services"]:
        ports = tr.plain("lb.ports", source=port(tr, s["src"]), destination=port(tr, s["dst"]))
        row = []
        if edit:
            row.append(Button(tr.plain("lb.btn.toggle_on" if s.get("ssl") else "lb.btn.toggle_off",
                                       option=tr.plain("lb.opt.ssl", ports=ports)), "lbf.ssl", str(s["i"])))
        row.append(Button(tr.plain("lb.btn.remove", item=ports), "lbf.srm", str(s["i"])))
        rows.append(row)
    if "services" not in over_limit(flow):
        rows.append([_done_button(tr, flow)])
    rows.append(_nav(tr))
    return Screen(text, rows)


def ask_port(tr: Translator, flow: dict, which: str, *, error: str | None = None, typed: str | None = None) -> Screen:
    number = len(flow["services"]) + 1
    if which == "src":
        prompt = tr.t("lb.ask_source", number=number)
    else:
        prompt = tr.t("lb.ask_destination", number=number, source=port(tr, flow["draft"]["src"]))
    text = _lines(_head(tr, flow), prompt, _input_error(tr, error, typed))
    return Screen(text, [_nav(tr)])


def service_options(tr: Translator, flow: dict) -> Screen:
    draft = flow["draft"]
    text = _lines(
        _head(tr, flow),
        tr.t("lb.service_options", number=len(flow["services"]) + 1, source=port(tr, draft["src"]),
             destination=port(tr, draft["dst"])),
    )
    rows = []
    for opt, key in (("hc", "lb.opt.health_check"), ("px", "lb.opt.proxy")):
        state_key = "lb.btn.toggle_on" if draft.get(opt) else "lb.btn.toggle_off"
        rows.append([Button(tr.plain(state_key, option=tr.plain(key)), "lbf.opt", opt)])
    rows.append([Button(tr.plain("lb.btn.save_service"), "lbf.sok")])
    rows.append(_nav(tr))
    return Screen(text, rows)


def _errors_for(errors: Mapping[str, Sequence[str]] | None, step: str) -> list[str]:
    return list((errors or {}).get(step, ()))


def summary(tr: Translator, flow: dict, errors: Mapping[str, Sequence[str]] | None = None,
            top: Sequence[str] = ()) -> Screen:
    """The create summary: every step's line, each followed by what ManageIT said about it."""
    def block(step: str, *lines: str) -> list[str]:
        return [*lines, *_error_lines(tr, _errors_for(errors, step))]

    over = over_limit(flow)
    parts = [
        _head(tr, flow),
        tr.t("lb.summary"),
        *(tr.t("common.plain_line", error=line) for line in top),  # the reason carries its own icon
        tr.t("lb.sum.project", project=flow["project_name"]),
        *block("name", tr.t("lb.sum.name", name=flow["lb_name"])),
        *block("location", tr.t("lb.sum.location", location=flow["location_name"])),
        *block("plan", tr.t("lb.sum.plan", plan=flow["plan_name"], performance=flow["plan_performance"],
                            services=flow["plan_services"], targets=flow["plan_targets"])),
        *block("algorithm", tr.t("lb.sum.algorithm", algorithm=algorithm_name(tr, flow["algorithm"]))),
        *block("targets", tr.t("lb.sum.targets", count=Html(_count(tr, flow, "targets"))),
               *([target_text(tr, t) for t in flow["targets"][:LIST_MAX]] or [tr.t("lb.none")]),
               *_more(tr, len(flow["targets"]), LIST_MAX),
               *(_limit_lines(tr, flow, "targets") if "targets" in over else [])),
        *block("services", tr.t("lb.sum.services", count=Html(_count(tr, flow, "services"))),
               *([service_text(tr, s, with_ssl=False) for s in flow["services"][:LIST_MAX]] or [tr.t("lb.none")]),
               *_more(tr, len(flow["services"]), LIST_MAX),
               *(_limit_lines(tr, flow, "services") if "services" in over else [])),
        tr.t("lb.sum.price", monthly=tr.price(flow["plan_price"])),
        *_error_lines(tr, _errors_for(errors, "")),
    ]
    rows = []
    if not over:
        rows.append([Button(tr.plain("lb.btn.confirm_create"), "lbf.confirm")])
    # Every part can be changed from here: a 422 names the part it is about.
    rows.append([Button(tr.plain("lb.btn.name"), "lbf.go", "name"),
                 Button(tr.plain("lb.btn.location"), "lbf.go", "location")])
    rows.append([Button(tr.plain("lb.btn.plan"), "lbf.go", "plan"),
                 Button(tr.plain("lb.btn.algorithm"), "lbf.go", "algorithm")])
    rows.append([Button(tr.plain("lb.btn.targets", count=len(flow["targets"])), "lbf.go", "targets"),
                 Button(tr.plain("lb.btn.services", count=len(flow["services"])), "lbf.go", "services")])
    rows.append(_nav(tr))
    return Screen(_lines(*parts), rows)


def creating(tr: Translator, name: str) -> Screen:
    return Screen(tr.t("lb.creating", name=name), [])


def created(tr: Translator, lb: LoadBalancer) -> Screen:
    return Screen(
        tr.t("lb.created_active" if lb.status == "active" else "lb.created", name=lb.name,
             status=status_text(tr, lb.status)),
        [[Button(tr.plain("lb.btn.open"), "lb.open", lb.hash)], [Button(tr.plain("btn.main_menu"), "main")]],
    )


def cancelled(tr: Translator) -> Screen:
    return Screen(
        tr.t("common.cancelled"),
        [[Button(tr.plain("btn.load_balancers"), "lb.list", "0")], [Button(tr.plain("btn.main_menu"), "main")]],
    )


# -- changing an existing load balancer --------------------------------------------------
def changes(tr: Translator, flow: dict) -> list[str]:
    """What the draft changes, one line each (empty when nothing)."""
    orig = flow["orig"]
    out = []
    if flow["lb_name"] != orig["lb_name"]:
        out.append(tr.t("lb.chg.name", old=orig["lb_name"], new=flow["lb_name"]))
    if flow["plan"] != orig["plan"]:
        out.append(tr.t("lb.chg.plan", old=orig["plan_name"] or "—", new=flow["plan_name"],
                        price=tr.price(flow["plan_price"])))
    if flow["algorithm"] != orig["algorithm"]:
        out.append(tr.t("lb.chg.algorithm", old=algorithm_name(tr, orig["algorithm"]),
                        new=algorithm_name(tr, flow["algorithm"])))
    now_ips = [t["ip"] for t in flow["targets"]]
    for ip in orig["targets"]:
        if ip not in now_ips:
            out.append(tr.t("lb.chg.target_removed", address=_address(tr, ip)))
    for t in flow["targets"]:
        if t["ip"] not in orig["targets"]:
            address = _address(tr, t["ip"])
            if t.get("server"):  # a server picked from the list: say which
                address = Html(tr.t("lb.target_named", address=address, server=clip(t["server"], SERVER_MAX)))
            out.append(tr.t("lb.chg.target_added", address=address))
    before = {s["src"]: s for s in orig["services"]}
    after = {s["src"]: s for s in flow["services"]}
    for src, s in before.items():
        new = after.get(src)
        ports = tr.plain("lb.ports", source=port(tr, s["src"]), destination=port(tr, s["dst"]))
        if new is None:
            out.append(tr.t("lb.chg.service_removed", ports=ports))
        elif (new["dst"], new["hc"], new["px"]) != (s["dst"], s["hc"], s["px"]):
            out.append(tr.t("lb.chg.service_changed", service=Html(service_text(tr, new, bullet=False))))
        elif bool(new.get("ssl")) != bool(s.get("ssl")):
            out.append(tr.t("lb.chg.ssl", ports=ports, old=_onoff(tr, bool(s.get("ssl"))), new=_onoff(tr, bool(new.get("ssl")))))
    for src, s in after.items():
        if src not in before:
            out.append(tr.t("lb.chg.service_added", service=Html(service_text(tr, s, bullet=False))))
    return out


def edit_menu(tr: Translator, flow: dict, *, error: str | None = None) -> Screen:
    diff = changes(tr, flow)
    parts = [
        _head(tr, flow),
        tr.t("lb.edit.intro"),
        *_name_warning(tr, flow),
        "",
        tr.t("lb.sum.name", name=flow["lb_name"]),
        tr.t("lb.sum.plan", plan=flow["plan_name"] or "—", performance=flow.get("plan_performance") or "—",
             services=flow["plan_services"] if flow.get("plan_services") is not None else "—",
             targets=flow["plan_targets"] if flow.get("plan_targets") is not None else "—"),
        tr.t("lb.sum.algorithm", algorithm=algorithm_name(tr, flow["algorithm"])),
        tr.t("lb.sum.targets", count=Html(_count(tr, flow, "targets"))),
        tr.t("lb.sum.services", count=Html(_count(tr, flow, "services"))),
        "",
        tr.t("lb.edit.changes") if diff else tr.t("lb.edit.nothing"),
        *diff[:CHANGES_MAX],
        *_more(tr, len(diff), CHANGES_MAX),
        *_error_lines(tr, [error] if error else None),
    ]
    for kind in over_limit(flow):
        parts += _limit_lines(tr, flow, kind)
    rows = [
        [Button(tr.plain("btn.rename"), "lbf.go", "name"), Button(tr.plain("lb.btn.plan"), "lbf.go", "plan"),
         Button(tr.plain("lb.btn.algorithm"), "lbf.go", "algorithm")],
        [Button(tr.plain("lb.btn.targets", count=len(flow["targets"])), "lbf.go", "targets"),
         Button(tr.plain("lb.btn.services", count=len(flow["services"])), "lbf.go", "services")],
    ]
    if diff and not name_too_long(flow):  # a PUT with that name would be refused: rename first
        rows.append([Button(tr.plain("lb.btn.review"), "lbf.go", "summary")])
    rows.append([Button(tr.plain("btn.cancel"), "lbf.cancel")])
    return Screen(_lines(*parts), rows)


def edit_summary(tr: Translator, flow: dict, errors: Mapping[str, Sequence[str]] | None = None,
                 top: Sequence[str] = ()) -> Screen:
    """One summary of the change before the PUT; 422 messages sit under the part they are about."""
    diff = changes(tr, flow)
    over = over_limit(flow)

    def block(step: str, *lines: str) -> list[str]:
        return [*lines, *_error_lines(tr, _errors_for(errors, step))]

    parts = [
        _head(tr, flow),
        tr.t("lb.edit.summary", name=flow["orig"]["lb_name"]),
        *(tr.t("common.plain_line", error=line) for line in top),  # the reason carries its own icon
        *_name_warning(tr, flow),
        *(diff[:CHANGES_MAX] or [tr.t("lb.edit.nothing")]),
        *_more(tr, len(diff), CHANGES_MAX),
        "",
        *block("name", tr.t("lb.sum.name", name=flow["lb_name"])),
        *block("plan", tr.t("lb.sum.plan_price", plan=flow["plan_name"] or "—", monthly=tr.price(flow["plan_price"]))),
        *block("algorithm", tr.t("lb.sum.algorithm", algorithm=algorithm_name(tr, flow["algorithm"]))),
        *block("targets", tr.t("lb.sum.targets", count=Html(_count(tr, flow, "targets"))),
               *(_limit_lines(tr, flow, "targets") if "targets" in over else [])),
        *block("services", tr.t("lb.sum.services", count=Html(_count(tr, flow, "services"))),
               *(_limit_lines(tr, flow, "services") if "services" in over else [])),
        *_error_lines(tr, _errors_for(errors, "")),
    ]
    rows = []
    if diff and not over and not name_too_long(flow):
        rows.append([Button(tr.plain("lb.btn.confirm_save"), "lbf.confirm")])
    rows.append(_nav(tr))
    return Screen(_lines(*parts), rows)


def saving(tr: Translator, name: str) -> Screen:
    return Screen(tr.t("lb.saving", name=name), [])


def group_errors(fields: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """422 errors by the flow step they belong to ('' for the rest)."""
    out: dict[str, list[str]] = {}
    for field_name, messages in fields.items():
        step = field_name.split(".", 1)[0]
        out.setdefault(step if step in FIELD_STEPS else "", []).extend(messages)
    return out
