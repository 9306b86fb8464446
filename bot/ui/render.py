"""Message rendering: turns plain data and models into Screens (HTML text + buttons).

Nothing here calls an API or decides where the user goes next; handlers do that.
Every text comes from the locale catalogs through the Translator, which escapes and
isolates every value.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Sequence

from bot.i18n import Html, Translator
from bot.manageit.models import Location, OSImage, OSVersion, Plan, Project, Server
from bot.ui.keyboards import Button, Screen, paginate, pager_row


ECHO_MAX = 60  # characters of a user's own input echoed back


def clip(text: str, limit: int = ECHO_MAX) -> str:
    """A user's input shown back to them: never long enough to break a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p is not None)


def back(tr: Translator, action: str, arg: str = "") -> Button:
    return Button(tr.plain("btn.back"), action, arg)


def status_text(tr: Translator, status: str | None) -> str:
    """A known status in the user's language; anything else as the API said it."""
    if not status:
        return "—"
    key = "status." + status.strip().lower().replace(" ", "_")
    text = tr.raw(key)
    return text if text != key else status


def _pager(tr: Translator, page, action: str) -> list[Button]:
    return pager_row(page, action, tr.plain("btn.page", current=page.number + 1, total=page.count))


# -- start, help, language, account --------------------------------------------------
def main_menu(tr: Translator, *, first_name: str | None, account_name: str | None) -> Screen:
    if account_name:
        status = tr.t("menu.connected", account=account_name)
    else:
        status = tr.t("menu.not_connected")
    text = _lines(tr.t("menu.greeting", name=first_name or ""), "", status)
    rows = [
        [Button(tr.plain("btn.projects"), "proj.list", "0")],
        [Button(tr.plain("btn.account"), "acct.show"), Button(tr.plain("btn.language"), "lang.menu")],
        [Button(tr.plain("btn.help"), "help")],
    ]
    return Screen(text, rows)


def help_screen(tr: Translator) -> Screen:
    return Screen(tr.t("help.text"), [[back(tr, "main")]])


def language_menu(tr: Translator) -> Screen:
    return Screen(
        tr.t("language.choose"),
        [[Button("فارسی", "lang.set", "fa"), Button("English", "lang.set", "en")], [back(tr, "main")]],
    )


def account_screen(tr: Translator, *, name: str | None, email: str | None, fingerprint: str | None, private: bool) -> Screen:
    if fingerprint is None:
        key = "account.none" if private else "account.none_group"
        return Screen(tr.t(key), [[back(tr, "main")]])
    if private:
        text = tr.t("account.connected", name=name or "—", email=email or "—", fingerprint=fingerprint)
    else:  # in a group, the account's name only: no email, no fingerprint
        text = tr.t("account.connected_group", name=name or "—")
    rows = []
    if private:
        rows.append([Button(tr.plain("btn.change_token"), "acct.token"), Button(tr.plain("btn.logout"), "acct.logout")])
    rows.append([back(tr, "main")])
    return Screen(text, rows)


def token_prompt(tr: Translator, error: str | None = None) -> Screen:
    text = _lines(tr.t("token.prompt"), tr.t("common.error_line", error=error) if error else None)
    return Screen(text, [[Button(tr.plain("btn.cancel"), "acct.cancel")]])


def logout_confirm(tr: Translator) -> Screen:
    return Screen(
        tr.t("account.logout_confirm"),
        [[Button(tr.plain("btn.logout_yes"), "acct.logout_ok"), Button(tr.plain("btn.cancel"), "acct.show")]],
    )


# -- projects ---------------------------------------------------------------------------
def project_list(tr: Translator, projects: Sequence[Project], page: int) -> Screen:
    pg = paginate(list(projects), page)
    if projects:
        text = tr.t("projects.title", count=len(projects))
    else:
        text = tr.t("projects.empty")
    rows = [[Button(tr.plain("projects.item", name=p.name, servers=p.servers_count), "proj.open", p.hash)] for p in pg.items]
    rows.append(_pager(tr, pg, "proj.list"))
    rows.append([Button(tr.plain("btn.new_project"), "proj.new")])
    rows.append([back(tr, "main")])
    return Screen(text, rows)


def project_detail(tr: Translator, project: Project) -> Screen:
    text = tr.t(
        "project.detail",
        name=project.name,
        created=tr.date(project.created_at),
        servers=project.servers_count,
        load_balancers=project.loadbalancers_count,
    )
    rows = [
        [Button(tr.plain("btn.servers"), "srv.list", "0"), Button(tr.plain("btn.load_balancers"), "lb.list", "0")],
        [Button(tr.plain("btn.rename"), "proj.rename"), Button(tr.plain("btn.delete"), "proj.del")],
        [back(tr, "proj.list", "0")],
    ]
    return Screen(text, rows)


def project_name_prompt(tr: Translator, *, renaming: str | None, error: str | None = None) -> Screen:
    key = "project.rename_prompt" if renaming else "project.new_prompt"
    text = _lines(tr.t(key, name=renaming or ""), tr.t("common.error_line", error=error) if error else None)
    return Screen(text, [[Button(tr.plain("btn.cancel"), "proj.name_cancel")]])


def project_delete_confirm(tr: Translator, project: Project) -> Screen:
    if project.servers_count or project.loadbalancers_count:
        # ManageIT deletes only an empty project: say so now, rather than after "Yes"
        return Screen(
            tr.t("project.delete_not_empty", name=project.name, servers=project.servers_count,
                 load_balancers=project.loadbalancers_count),
            [[Button(tr.plain("btn.servers"), "srv.list", "0"), Button(tr.plain("btn.load_balancers"), "lb.list", "0")],
             [back(tr, "proj.open", project.hash)]],
        )
    return Screen(
        tr.t("project.delete_confirm", name=project.name),
        [[Button(tr.plain("btn.delete_yes"), "proj.delok"), Button(tr.plain("btn.cancel"), "proj.open", project.hash)]],
    )


def project_deleted(tr: Translator, name: str) -> Screen:
    return Screen(tr.t("project.deleted", name=name), [[Button(tr.plain("btn.projects"), "proj.list", "0")]])


# -- servers ----------------------------------------------------------------------------
def server_list(tr: Translator, project: Project, servers: Sequence[Server], page: int) -> Screen:
    pg = paginate(list(servers), page)
    text = tr.t("servers.title", project=project.name, count=len(servers)) if servers else tr.t("servers.empty", project=project.name)
    rows = [
        [Button(tr.plain("servers.item", name=s.name, status=status_text(tr, s.status)), "srv.open", s.hash)]
        for s in pg.items
    ]
    rows.append(_pager(tr, pg, "srv.list"))
    rows.append([Button(tr.plain("btn.new_server"), "srv.new")])
    rows.append([back(tr, "proj.open", project.hash)])
    return Screen(text, rows)


def _ips(tr: Translator, server: Server) -> str:
    if not server.ips:
        return tr.t("server.no_ips")
    return "\n".join(tr.t("server.ip_line", kind=ip.type, ip=Html(f"<code>{tr.isolate(_esc(ip.ip))}</code>")) for ip in server.ips)


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def hourly_price(server: Server, plan: Plan | None) -> int:
    if plan is not None and plan.price_per_hour:
        return plan.price_per_hour
    return math.ceil((server.price or 0) / 720)


def server_detail(tr: Translator, server: Server, *, hourly: int, private: bool) -> Screen:
    specs = server.specs
    if specs and specs.vcpu and specs.ram_bytes and specs.disk_gb:
        spec_text = Html(tr.t("server.specs", vcpu=specs.vcpu, ram=tr.ram(specs.ram_bytes), disk=tr.gigabytes(specs.disk_gb)))
    else:
        spec_text = Html("")
    text = tr.t(
        "server.detail",
        name=server.name,
        status=status_text(tr, server.status),
        real_status=status_text(tr, server.real_status),
        plan=server.plan_name or "—",
        specs=spec_text,
        os=server.os_name or "—",
        location=server.location.name if server.location else "—",
        monthly=tr.price(server.price or 0),
        hourly=tr.price(hourly),
        created=tr.ago(server.created_at_text),
        ips=Html(_ips(tr, server)),
    )
    rows = [[Button(tr.plain("btn.refresh"), "srv.open", server.hash)]]
    if private and server.password:
        rows.append([Button(tr.plain("btn.show_password"), "srv.pw", server.hash)])
    rows.append([Button(tr.plain("btn.delete"), "srv.del", server.hash)])
    rows.append([back(tr, "srv.list", "0")])
    return Screen(text, rows)


def server_delete_confirm(tr: Translator, server: Server) -> Screen:
    return Screen(
        tr.t("server.delete_confirm", name=server.name, ip=server.primary_ipv4 or "—"),
        [[Button(tr.plain("btn.delete_yes"), "srv.delok"), Button(tr.plain("btn.cancel"), "srv.open", server.hash)]],
    )


def server_deleted(tr: Translator, name: str) -> Screen:
    return Screen(tr.t("server.deleted", name=name), [[Button(tr.plain("btn.servers"), "srv.list", "0")], [Button(tr.plain("btn.main_menu"), "main")]])


# -- create server ----------------------------------------------------------------------
def _step(tr: Translator, number: int, key: str, **values) -> str:
    return _lines(tr.t("create.step", number=number, total=7), tr.t(key, **values))


def _flow_nav(tr: Translator, back_to: bool = True) -> list[Button]:
    row = []
    if back_to:
        row.append(Button(tr.plain("btn.back"), "sc.back"))
    row.append(Button(tr.plain("btn.cancel"), "sc.cancel"))
    return row


def pick_location(tr: Translator, locations: Sequence[Location], page: int = 0) -> Screen:
    pg = paginate(list(locations), page)
    rows = [[Button(loc.name + (" ★" if loc.is_default else ""), "sc.loc", str(loc.id))] for loc in pg.items]
    rows.append(_pager(tr, pg, "sc.page"))
    rows.append(_flow_nav(tr))  # Back: to the server list
    return Screen(_step(tr, 1, "create.location"), rows)


def plan_label(tr: Translator, plan: Plan) -> str:
    return tr.plain(
        "create.plan_item",
        name=plan.name,
        vcpu=plan.vcpu,
        ram=tr.ram(plan.ram_bytes),
        disk=tr.gigabytes(plan.disk_gb),
        price=tr.price(plan.price_per_month),
    )


def pick_plan(tr: Translator, location: str, plans: Sequence[Plan], page: int) -> Screen:
    pg = paginate(list(plans), page)
    rows = [[Button(plan_label(tr, p), "sc.plan", str(p.id))] for p in pg.items]
    rows.append(_pager(tr, pg, "sc.page"))
    rows.append(_flow_nav(tr))
    return Screen(_step(tr, 2, "create.plan", location=location), rows)


def pick_os(tr: Translator, images: Sequence[OSImage], page: int) -> Screen:
    pg = paginate(list(images), page)
    rows = [[Button(img.name, "sc.os", str(img.id))] for img in pg.items]
    rows.append(_pager(tr, pg, "sc.page"))
    rows.append(_flow_nav(tr))
    return Screen(_step(tr, 3, "create.os"), rows)


def pick_version(tr: Translator, image: OSImage, versions: Sequence[OSVersion], page: int = 0) -> Screen:
    pg = paginate(list(versions), page)
    rows = [[Button(f"{image.name} {v.version}", "sc.ver", str(v.id))] for v in pg.items]
    rows.append(_pager(tr, pg, "sc.page"))
    rows.append(_flow_nav(tr))
    return Screen(_step(tr, 4, "create.version", os=image.name), rows)


def ask_hostname(tr: Translator, error: str | None = None, typed: str | None = None) -> Screen:
    text = _lines(
        _step(tr, 5, "create.hostname"),
        tr.t("create.hostname_error", error=error, typed=clip(typed or "")) if error else None,
    )
    return Screen(text, [_flow_nav(tr)])


def ask_password(tr: Translator, *, private: bool, error: str | None = None) -> Screen:
    key = "create.password" if private else "create.password_group"
    text = _lines(_step(tr, 6, key), tr.t("common.error_line", error=error) if error else None)
    return Screen(text, [[Button(tr.plain("btn.generate_password"), "sc.genpw")], _flow_nav(tr)])


def summary(tr: Translator, flow: dict, errors: Sequence[str] = (), *, private: bool = True) -> Screen:
    """The last step; `errors` are plain texts (the first a localized reason, then the API's)."""
    if flow.get("password_generated"):
        password_key = "create.password_generated" if private else "create.password_generated_group"
    else:
        password_key = "create.password_typed"
    text = _lines(
        _step(tr, 7, "create.summary"),
        tr.t(
            "create.summary_body",
            project=flow["project_name"],
            location=flow["location_name"],
            plan=flow["plan_label"],
            os=flow["os_label"],
            hostname=flow["hostname"],
            password=Html(tr.t(password_key)),
            monthly=tr.price(flow["price_month"]),
            hourly=tr.price(flow["price_hour"]),
        ),
        *(tr.t("common.error_line" if i else "common.plain_line", error=tr.api(e) if i else e)
          for i, e in enumerate(errors)),
    )
    rows = [[Button(tr.plain("btn.confirm_create"), "sc.confirm")], _flow_nav(tr)]
    return Screen(text, rows)


def creating(tr: Translator, hostname: str) -> Screen:
    return Screen(tr.t("create.creating", hostname=hostname), [])


def created(tr: Translator, server: Server) -> Screen:
    return Screen(
        tr.t("create.created_active" if server.status == "active" else "create.created", name=server.name,
             status=status_text(tr, server.status)),
        [[Button(tr.plain("btn.open_server"), "srv.open", server.hash)], [Button(tr.plain("btn.main_menu"), "main")]],
    )


def order_outcome_unknown(tr: Translator, hostname: str) -> Screen:
    """A create whose answer was lost and could not be checked: look, do not repeat."""
    return Screen(
        tr.t("create.outcome_unknown", hostname=hostname),
        [[Button(tr.plain("btn.servers"), "srv.list", "0")], [Button(tr.plain("btn.main_menu"), "main")]],
    )


def cancelled(tr: Translator) -> Screen:
    return Screen(tr.t("common.cancelled"), [[Button(tr.plain("btn.main_menu"), "main")]])


def password_message(tr: Translator, name: str, password: str) -> str:
    return tr.t("server.password_message", name=name,
                password=Html(f"<tg-spoiler><code>{_esc(password)}</code></tg-spoiler>"))


def generated_password(tr: Translator, password: str) -> str:
    return tr.t("create.generated_password", password=Html(f"<tg-spoiler><code>{_esc(password)}</code></tg-spoiler>"))


# -- errors -----------------------------------------------------------------------------
def error_screen(tr: Translator, key: str, values: dict, details: Sequence[str], retry: list | None,
                 at: datetime | None = None) -> Screen:
    """`at`: when it failed, shown so that a Retry failing alike visibly happened."""
    text = _lines(
        tr.t(key, **values),
        *(tr.t("common.error_line", error=tr.api(d)) for d in details),
        tr.t("error.at", time=tr.clock(at)) if at is not None else None,
    )
    rows = []
    if retry:
        rows.append([Button(tr.plain("btn.retry"), retry[0], retry[1])])
    rows.append([Button(tr.plain("btn.main_menu"), "main")])
    return Screen(text, rows)
