"""The one normalising layer between ManageIT's response shapes and the models.

The API returns collections in several shapes (all of them appear in the
provider's documentation):

* a JSON list: ``[{...}, {...}]``
* an object keyed by position strings: ``{"1": {...}, "2": {...}}``
* a wrapper: ``{"data": <any of these>, "links": ..., "meta": ...}``
* a wrapper around a single object: ``{"data": {"id": ..., ...}}``
* ``[]`` or ``null`` for "nothing".

:func:`as_list` turns any of them into ``list[dict]``; :func:`as_object` does the
same for single objects.  :func:`parse_body` decodes a raw response body.
No endpoint-specific rules live here.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["as_list", "as_object", "parse_body", "BodyParseError", "is_item"]

_ITEM_KEYS = ("id", "hash")
_MAX_DEPTH = 8


class BodyParseError(ValueError):
    """The response body is neither JSON nor one of the tolerated variants."""


def is_item(value: Any) -> bool:
    """True for a dict that is one resource (it carries an ``id`` or ``hash``)."""
    return isinstance(value, dict) and any(key in value for key in _ITEM_KEYS)


def _position_key(key: str) -> tuple[int, int | str]:
    try:
        return (0, int(key))
    except (TypeError, ValueError):
        return (1, str(key))


def as_list(payload: Any, _depth: int = 0) -> list[dict[str, Any]]:
    """Return the items of a collection payload as a list of dicts.

    Non-dict entries are dropped; anything unrecognisable yields ``[]``.
    """
    if payload is None or _depth > _MAX_DEPTH:
        return []
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    if not isinstance(payload, dict):
        return []
    if is_item(payload):
        return [payload]
    if "data" in payload:
        return as_list(payload["data"], _depth + 1)
    if not payload:
        return []
    values = list(payload.values())
    if all(isinstance(v, dict) for v in values):
        # Keyed collection ({"1": {...}, "2": {...}}): order by numeric position.
        keys = sorted(payload.keys(), key=_position_key)
        return [payload[k] for k in keys]
    return []


def as_object(payload: Any, _depth: int = 0) -> dict[str, Any]:
    """Return a single-object payload as a dict (``data`` unwrapped, ``[]`` → ``{}``)."""
    if payload is None or _depth > _MAX_DEPTH:
        return {}
    if isinstance(payload, list):
        items = [item for item in payload if isinstance(item, dict)]
        return items[0] if len(items) == 1 else {}
    if not isinstance(payload, dict):
        return {}
    if "data" in payload and not is_item(payload):
        return as_object(payload["data"], _depth + 1)
    return payload


# ``{success: true}`` -- a JavaScript object literal with bare keys, as documented
# for DELETE api/v1/projects/{hash}.  Bare identifiers used as keys get quoted.
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")


def parse_body(raw: bytes | str | None) -> Any:
    """Decode a response body.

    Returns ``None`` for an empty body, the decoded JSON otherwise.  A body
    with unquoted keys (``{success: true}``) is accepted.  Anything else raises
    :class:`BodyParseError`.
    """
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray)):
        text = bytes(raw).decode("utf-8-sig", errors="replace")
    else:
        text = raw
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text.startswith("{") and text.endswith("}"):
        try:
            return json.loads(_BARE_KEY.sub(r'\1"\2"\3', text))
        except ValueError:
            pass
    raise BodyParseError("response body is not JSON")
