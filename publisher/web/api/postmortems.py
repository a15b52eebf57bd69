"""The postmortem and its follow-up actions for scripts, with the console's role rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, url_for
from flask_babel import gettext as _

from ...models import FollowUpAction, Postmortem
from ...services import incidents, postmortems
from ...services.errors import InvalidInput
from ...services.permissions import Can, allowed, require
from ...services.postmortems.actions import today
from ..access import STAFF, acting_user, allow
from . import blueprint
from . import parsing as p
from .serializers import iso, person_json, public_url

ACTION_FIELDS = {"title", "owner_email", "due_on", "priority", "tracker_url"}


def _postmortem(id: str, capability: Can | None = None) -> Postmortem:
    """The incident's postmortem, after checking the caller may do `capability` there."""
    incident = incidents.get_incident(p.public_id(id))
    if capability is not None:
        require(acting_user(), capability, incident)  # refuse before judging the body
    return postmortems.get_postmortem(incident)


def _version(body: dict) -> int | None:
    return p.integer(body, "expected_version", required=False)


# ---------------------------------------------------------------- the document


@blueprint.get("/incidents/<id>/postmortem")
@allow(STAFF)
def get_postmortem(id: str):
    return jsonify(postmortem_json(_postmortem(id)))


@blueprint.post("/incidents/<id>/postmortem")
@allow(STAFF)  # the problem manager or the incident manager of this incident
def start_postmortem(id: str):
    incident = incidents.get_incident(p.public_id(id))
    require(acting_user(), Can.WRITE_POSTMORTEM, incident)
    p.optional_json_body(set())
    postmortem = postmortems.start_postmortem(acting_user(), incident)
    return p.created(postmortem_json(postmortem), url_for(".get_postmortem", id=id))


@blueprint.patch("/incidents/<id>/postmortem")
@allow(STAFF)
def edit_postmortem(id: str):
    postmortem = _postmortem(id, Can.WRITE_POSTMORTEM)
    body = p.json_body({"internal_body", "public_body", "expected_version"})
    postmortems.edit_postmortem(
        acting_user(),
        postmortem,
        internal_body=p.text(body, "internal_body", required=False),
        public_body=p.text(body, "public_body", required=False),
        expected_version=_version(body),
    )
    return jsonify(postmortem_json(postmortem))


@blueprint.post("/incidents/<id>/postmortem/submit")
@allow(STAFF)
def submit_postmortem(id: str):
    postmortem = _postmortem(id, Can.WRITE_POSTMORTEM)
    body = p.optional_json_body({"expected_version", "comment"})
    postmortems.submit(
        acting_user(),
        postmortem,
        expected_version=_version(body),
        comment=p.text(body, "comment", required=False),
    )
    return jsonify(postmortem_json(postmortem))


@blueprint.post("/incidents/<id>/postmortem/approve")
@allow(STAFF)
def approve_postmortem(id: str):
    postmortem = _postmortem(id, Can.APPROVE)
    body = p.json_body({"expected_hash", "comment"})
    postmortems.approve(
        acting_user(),
        postmortem,
        expected_hash=p.text(body, "expected_hash"),
        comment=p.text(body, "comment", required=False),
    )
    return jsonify(postmortem_json(postmortem))


@blueprint.post("/incidents/<id>/postmortem/request-changes")
@allow(STAFF)
def request_postmortem_changes(id: str):
    postmortem = _postmortem(id, Can.APPROVE)
    body = p.json_body({"comment", "expected_version"})
    postmortems.request_changes(
        acting_user(), postmortem, comment=p.text(body, "comment"), expected_version=_version(body)
    )
    return jsonify(postmortem_json(postmortem))


@blueprint.post("/incidents/<id>/postmortem/publish")
@allow(STAFF)
def publish_postmortem(id: str):
    postmortem = _postmortem(id, Can.PUBLISH_POSTMORTEM)
    body = p.optional_json_body({"notify", "expected_version"})
    postmortems.publish(
        acting_user(),
        postmortem,
        notify=p.flag(body, "notify", False),
        expected_version=_version(body),
    )
    return jsonify(postmortem_json(postmortem))


@blueprint.post("/incidents/<id>/postmortem/unpublish")
@allow(STAFF)  # an incident manager (global, or of this incident) or an admin
def unpublish_postmortem(id: str):
    postmortem = _postmortem(id, Can.APPROVE)
    body = p.json_body({"reason", "expected_version"})
    postmortems.unpublish(
        acting_user(), postmortem, reason=p.text(body, "reason"), expected_version=_version(body)
    )
    return jsonify(postmortem_json(postmortem))


# ---------------------------------------------------------------- follow-up actions


@blueprint.get("/incidents/<id>/postmortem/actions")
@allow(STAFF)
def postmortem_actions(id: str):
    return jsonify([action_json(a) for a in _postmortem(id).actions])


@blueprint.post("/incidents/<id>/postmortem/actions")
@allow(STAFF)
def add_action(id: str):
    postmortem = _postmortem(id, Can.WRITE_POSTMORTEM)
    body = p.json_body(ACTION_FIELDS)
    action = postmortems.add_action(
        acting_user(),
        postmortem,
        title=p.text(body, "title"),
        owner=p.user_by_email(body, "owner_email"),
        due_on=_date(body, "due_on"),
        priority=p.text(body, "priority", required=False) or "medium",
        tracker_url=p.text(body, "tracker_url", required=False),
    )
    return p.created(action_json(action))


@blueprint.get("/actions")
@allow(STAFF)
def list_actions():
    owner = p.query_choice("owner", ["anyone", "me"], "anyone")
    limit = p.query_int("limit", 100, 1, 500)
    rows = postmortems.open_actions(acting_user() if owner == "me" else None, limit=limit)
    return jsonify([action_json(row.action, overdue=row.overdue) for row in rows])


@blueprint.patch("/actions/<int:action_id>")
@allow(STAFF)
def edit_action(action_id: int):
    action = postmortems.get_action(p.row_id(action_id))
    require(acting_user(), Can.WRITE_POSTMORTEM, action.postmortem.incident)
    body = p.json_body(ACTION_FIELDS | {"expected_version"})
    changes: dict[str, Any] = {
        "title": p.text(body, "title", required=False),
        "owner": p.user_by_email(body, "owner_email", required=False),
        "due_on": _date(body, "due_on", required=False),
        "priority": p.text(body, "priority", required=False),
    }
    if "tracker_url" in body:  # null or "" removes the link
        changes["tracker_url"] = p.text(body, "tracker_url", required=False)
    postmortems.edit_action(acting_user(), action, expected_version=_version(body), **changes)
    return jsonify(action_json(action))


@blueprint.post("/actions/<int:action_id>/status")
@allow(STAFF)  # the action's owner, or whoever writes the postmortem
def set_action_status(action_id: int):
    action = postmortems.get_action(p.row_id(action_id))
    if not postmortems.may_change_status(acting_user(), action):
        require(acting_user(), Can.WRITE_POSTMORTEM, action.postmortem.incident)  # a 403
    body = p.json_body({"status", "reason", "expected_version"})
    postmortems.set_status(
        acting_user(),
        action,
        p.text(body, "status"),
        reason=p.text(body, "reason", required=False),
        expected_version=_version(body),
    )
    return jsonify(action_json(action))


# ---------------------------------------------------------------- shapes


def postmortem_json(postmortem: Postmortem) -> dict[str, Any]:
    incident = postmortem.incident
    return {
        "incident_id": incident.public_id,
        "state": str(postmortem.state),
        "version": postmortem.version,
        "internal_body": postmortem.internal_body,
        "public_body": postmortem.public_body,
        "content_hash": postmortems.content_hash(postmortem),
        "author": person_json(postmortem.author),
        "approved_by": person_json(postmortem.approved_by),
        "approved_hash": postmortem.approved_hash,
        "published_body": postmortem.published_body,
        "published_at": iso(postmortem.published_at),
        "public_updated_at": iso(postmortem.public_updated_at),
        "url": public_url(incident),
        "open_actions": sum(1 for a in postmortem.actions if a.is_open),
        "actions": [action_json(a) for a in postmortem.actions],
        "review": [
            {
                "at": iso(e.at),
                "action": e.action,
                "actor": person_json(e.actor),
                "comment": e.comment,
                "content_hash": e.content_hash,
            }
            for e in postmortem.review_events
        ],
        "may": {
            "write": allowed(acting_user(), Can.WRITE_POSTMORTEM, incident),
            "approve": allowed(acting_user(), Can.APPROVE, incident),
            "publish": allowed(acting_user(), Can.PUBLISH_POSTMORTEM, incident),
        },
    }


def action_json(action: FollowUpAction, overdue: bool | None = None) -> dict[str, Any]:
    if overdue is None:
        overdue = action.is_open and action.due_on < today()
    return {
        "id": action.id,
        "incident_id": action.postmortem.incident.public_id,
        "title": action.title,
        "owner": person_json(action.owner),
        "due_on": action.due_on.isoformat(),
        "priority": str(action.priority),
        "tracker_url": action.tracker_url,
        "status": str(action.status),
        "reason": action.status_reason,
        "overdue": overdue,
        "version": action.version,
        "closed_at": iso(action.closed_at),
        "created_at": iso(action.created_at),
    }


def _date(body: dict, field: str, *, required: bool = True) -> date | None:
    raw = p.text(body, field, required=required)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_date(field)
    except ValueError:
        return _bad_date(field)


def _bad_date(field: str):
    raise InvalidInput(_("%(field)s must be a date such as 2030-01-31.", field=field), field=field)
