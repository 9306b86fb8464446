"""Group chats: tokens never posted there, chat migrations, and who may act.

Menus in a group belong to the member who opened them (checked in `base.route_callback`);
a multi-step text prompt is answered as a reply (ForceReply), which privacy mode lets
through. Team tokens and approvals come later and fit here.
"""
from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import ContextTypes

log = logging.getLogger(__name__)

# Laravel Sanctum tokens look like "123|<40 letters>"; other API tokens are long runs of
# letters, digits and a few symbols. Long enough not to catch ordinary words.
_SANCTUM_RE = re.compile(r"\b\d+\|[A-Za-z0-9]{20,}\b")
_LONG_RUN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9_\-.]{40,}(?![A-Za-z0-9])")
_MIXED_RUN_RE = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{32,}(?![A-Za-z0-9_\-])")


def looks_like_token(text: str, *, at_prompt: bool = False) -> bool:
    """Whether `text` holds something that looks like an API token.

    Loose when the text answers no prompt (nothing else is expected then). At a prompt
    (a hostname, a name, a port) only what no answer would look like counts: a Sanctum
    token, or a long dot-less run mixing upper case, lower case and digits."""
    if not text or text.startswith("/"):
        return False
    if _SANCTUM_RE.search(text):
        return True
    if at_prompt:
        return any(
            any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
            for run in _MIXED_RUN_RE.findall(text)
        )
    for match in _LONG_RUN_RE.finditer(text):
        candidate = match.group(0)
        if "." in candidate and not any(c.isdigit() for c in candidate):
            continue  # a long dotted name, not a token
        return True
    return False


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: its id changed; data keyed by chat id moves along."""
    message = update.effective_message
    if message is None or not message.migrate_to_chat_id:
        return
    old_id, new_id = message.chat.id, message.migrate_to_chat_id
    context.application.migrate_chat_data(old_chat_id=old_id, new_chat_id=new_id)
    services = context.application.services  # type: ignore[attr-defined]
    async with services.db.session() as session:
        await services.credentials.move_owner(session, old_id, new_id)
    log.info("chat %s migrated to %s", old_id, new_id)
