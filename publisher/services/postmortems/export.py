"""The internal postmortem as one Markdown file: the document, then its follow-up actions."""

from __future__ import annotations

from flask_babel import gettext as _

from ...models import Postmortem


def export_markdown(postmortem: Postmortem) -> str:
    lines = [postmortem.internal_body.rstrip(), "", f"### {_('Follow-up actions')}", ""]
    lines += [_action_line(action) for action in postmortem.actions] or [f"- {_('None recorded.')}"]
    if postmortem.public_body.strip():
        lines += ["", "---", "", f"### {_('Public version')}", "", postmortem.public_body]
    return "\n".join(lines).rstrip() + "\n"


def _action_line(action) -> str:
    owner = action.owner.name if action.owner else _("no owner")
    done = "x" if not action.is_open else " "
    parts = [
        f"- [{done}] {action.title}",
        f"{_('owner')}: {owner}",
        f"{_('due')}: {action.due_on.isoformat()}",
        f"{_('priority')}: {action.priority}",
        f"{_('status')}: {str(action.status).replace('_', ' ')}",
    ]
    if action.status_reason:
        parts.append(f"{_('reason')}: {' '.join(action.status_reason.split())}")
    if action.tracker_url:
        parts.append(f"<{action.tracker_url}>")
    return " · ".join(parts)
