"""Catalogue data for the ManageIT sandbox.

Values follow the provider's documentation (``shared/api/manageit-api-docs.txt``):
locations 4, 3, 2; the documented OS images (plus one hidden version, so clients
can test hiding); the GH-1..GH-7 plans for every location; LB plans 31, 18, 19.

This module is data only; :mod:`bot.sandbox.manageit` shapes it into responses.
"""

from __future__ import annotations

from typing import Any

ICON_BASE = "https://srv.manageit.ir/shared/icons"

IRAN_FLAG: dict[str, Any] = {
    "id": 203,
    "name": "Iran",
    "type": "flags",
    "url": f"{ICON_BASE}/flags/iran.svg",
}

# Full location records; the list routes show {id, name, icon, is_default, visible},
# servers and load balancers embed {id, icon, name, position, is_default, is_visible,
# description}. Order is the documented order.
LOCATIONS: list[dict[str, Any]] = [
    {
        "id": 4,
        "name": "پارسیان",
        "icon": IRAN_FLAG,
        "is_default": False,
        "visible": True,
        "position": 0.97,
        "description": "دیتاسنتر پارسیان",
    },
    {
        "id": 3,
        "name": "شتاب",
        "icon": IRAN_FLAG,
        "is_default": True,
        "visible": True,
        "position": 0.98,
        "description": "دیتاسنتر شتاب",
    },
    {
        "id": 2,
        "name": "امید",
        "icon": IRAN_FLAG,
        "is_default": False,
        "visible": True,
        "position": 0.99,
        "description": "دیتاسنتر امید",
    },
]

# Load balancers are offered in the same locations.
LB_LOCATION_IDS: list[int] = [4, 3, 2]


def _version(vid: int, version: str, position: float, ssh: bool = True, visible: bool = True) -> dict:
    return {
        "id": vid,
        "version": version,
        "position": position,
        "is_ssh_keys_supported": ssh,
        "is_visible": visible,
    }


def _icon(iid: int, name: str, kind: str, url: str) -> dict:
    return {"id": iid, "name": name, "type": kind, "url": url}


# The documented OS images, in the documented order. One extra version is hidden
# (Ubuntu 16.04, id 28, is_visible false).
OS_IMAGES: list[dict[str, Any]] = [
    {
        "id": 9,
        "name": "Mikrotik",
        "icon": _icon(357, "Mikrotik", "os", "https://svgur.com/i/108b.svg"),
        "versions": [_version(23, "7.11.2", 0.485), _version(24, "6.49.8", 0.97)],
        "is_default": False,
        "is_visible": True,
        "position": 0.99,
    },
    {
        "id": 1,
        "name": "AlmaLinux",
        "icon": _icon(90, "AlmaLinux", "os", f"{ICON_BASE}/almalinux.svg"),
        "versions": [
            _version(5, "9.2", 1),
            _version(4, "9.1", 2),
            _version(3, "9.0", 3),
            _version(2, "8.7", 4),
            _version(1, "8.4", 5),
        ],
        "is_default": False,
        "is_visible": True,
        "position": 1,
    },
    {
        "id": 2,
        "name": "AlpineLinux",
        "icon": _icon(84, "Alpine", "os", f"{ICON_BASE}/alpine.svg"),
        "versions": [_version(6, "3.15", 1)],
        "is_default": False,
        "is_visible": True,
        "position": 2,
    },
    {
        "id": 3,
        "name": "CentOS",
        "icon": _icon(83, "CentOS", "os", f"{ICON_BASE}/centos.svg"),
        "versions": [
            _version(10, "9 Stream", 1),
            _version(9, "8 Stream", 2),
            _version(8, "8", 3),
            _version(7, "7", 4),
        ],
        "is_default": False,
        "is_visible": True,
        "position": 3,
    },
    {
        "id": 4,
        "name": "Debian",
        "icon": _icon(77, "Debian", "os", f"{ICON_BASE}/debian.svg"),
        "versions": [
            _version(14, "12", 1),
            _version(13, "11", 2),
            _version(12, "10", 3),
            _version(11, "9", 4),
        ],
        "is_default": False,
        "is_visible": True,
        "position": 4,
    },
    {
        "id": 5,
        "name": "RockyLinux",
        "icon": _icon(92, "RockyLinux", "os", f"{ICON_BASE}/rocky-linux.svg"),
        "versions": [_version(15, "8.4", 1), _version(25, "9", 16385)],
        "is_default": False,
        "is_visible": True,
        "position": 5,
    },
    {
        "id": 6,
        "name": "Ubuntu",
        "icon": _icon(81, "Ubuntu", "os", f"{ICON_BASE}/ubuntu.svg"),
        "versions": [
            _version(18, "22.04", 1),
            _version(17, "20.04", 2),
            _version(16, "18.04", 3),
            # Not in the documentation: a hidden version so clients can test hiding.
            _version(28, "16.04", 4, visible=False),
        ],
        "is_default": True,
        "is_visible": True,
        "position": 6,
    },
    {
        "id": 7,
        "name": "windows",
        "icon": _icon(69, "Windows", "application", f"{ICON_BASE}/windows.svg"),
        "versions": [
            _version(20, "2022 Evaluation", 1, ssh=False),
            _version(19, "2019", 2, ssh=False),
        ],
        "is_default": False,
        "is_visible": True,
        "position": 7,
    },
    {
        "id": 10,
        "name": "Fedora",
        "icon": _icon(78, "Fedora", "os", f"{ICON_BASE}/fedora.svg"),
        "versions": [_version(26, "Latest", 1)],
        "is_default": False,
        "is_visible": True,
        "position": 8,
    },
    {
        "id": 11,
        "name": "OpenSUSE",
        "icon": _icon(89, "Suse", "os", f"{ICON_BASE}/suse.svg"),
        "versions": [_version(27, "Latest", 1)],
        "is_default": False,
        "is_visible": True,
        "position": 9,
    },
]

HIDDEN_OS_VERSION_ID = 28

GIB = 1024**3

# The documented plan list (GH-1..GH-7). Every location gets the same list; plan ids
# differ per location (location 4 has the documented ids 40..46) so that "the plan
# must belong to the location" means something.
PLAN_TEMPLATES: list[dict[str, Any]] = [
    {"name": "GH-1", "params": {"vcpu": 1, "ram": 1 * GIB, "disk": 25}, "price_per_month": 219000, "price_per_hour": 305},
    {"name": "GH-2", "params": {"vcpu": 1, "ram": 2 * GIB, "disk": 50}, "price_per_month": 370000, "price_per_hour": 514},
    {"name": "GH-3", "params": {"vcpu": 2, "ram": 2 * GIB, "disk": 75}, "price_per_month": 540000, "price_per_hour": 760},
    {"name": "GH-4", "params": {"vcpu": 2, "ram": 4 * GIB, "disk": 75}, "price_per_month": 650000, "price_per_hour": 903},
    {"name": "GH-5", "params": {"vcpu": 4, "ram": 4 * GIB, "disk": 75}, "price_per_month": 780000, "price_per_hour": 1084},
    {"name": "GH-6", "params": {"vcpu": 4, "ram": 8 * GIB, "disk": 75}, "price_per_month": 1000000, "price_per_hour": 1389},
    {"name": "GH-7", "params": {"vcpu": 6, "ram": 12 * GIB, "disk": 150}, "price_per_month": 1500000, "price_per_hour": 2084},
]

# location id -> id of its GH-1 plan (GH-n is base + n - 1).
PLAN_ID_BASE: dict[int, int] = {4: 40, 3: 50, 2: 60}

# The documented plan list is keyed from "2" (position "1" is not shown).
PLAN_KEY_START = 2


def server_plans() -> dict[int, list[dict[str, Any]]]:
    """location id -> its plans, in order."""
    out: dict[int, list[dict[str, Any]]] = {}
    for loc_id, base in PLAN_ID_BASE.items():
        plans = []
        for i, tpl in enumerate(PLAN_TEMPLATES):
            plans.append(
                {
                    "id": base + i,
                    "name": tpl["name"],
                    "params": dict(tpl["params"]),
                    "price_per_month": tpl["price_per_month"],
                    "price_per_hour": tpl["price_per_hour"],
                    "visible": True,
                }
            )
        out[loc_id] = plans
    return out


LB_PLANS: list[dict[str, Any]] = [
    {"id": 31, "plan": 31, "name": "LB01", "performance": 1, "services": 5, "targets": 25, "price": 400000},
    {"id": 18, "plan": 18, "name": "LB02", "performance": 2, "services": 15, "targets": 75, "price": 900000},
    {"id": 19, "plan": 19, "name": "LB03", "performance": 4, "services": 30, "targets": 150, "price": 2500000},
]

# Profile fields /api/user fills in when a configured token's profile lacks them.
USER_DEFAULTS: dict[str, Any] = {
    "mobile": None,
    "credit": 0,
    "email_verified": True,
    "mobile_verified": False,
}
