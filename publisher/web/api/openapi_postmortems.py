"""The OpenAPI entries of the postmortem and follow-up action routes (assembled in openapi.py)."""

from __future__ import annotations

from typing import Any

from ...models import ActionPriority, ActionStatus, PostmortemState, ReviewAction
from ...services.postmortems import UNPUBLISHED
from .openapi_schemas import _enum, _list, _nullable, _object, _str, _text, _time, ref

READ, WRITE = "401 403", "400 401 403 413 422"
POSTMORTEM, ACTION = "/incidents/{id}/postmortem", "/actions/{action_id}"
# (path, method, operationId, summary, answer, errors, request body): openapi.Op's fields.
# fmt: off
OPERATIONS = (
    (POSTMORTEM, "get", "getPostmortem", "The incident's postmortem, both versions and its trail.",
     "200 Postmortem", READ + " 404"),
    (POSTMORTEM, "post", "startPostmortem",
     "Start it, prefilled from the incident (problem manager or incident manager).",
     "201 Postmortem", WRITE + " 404 409"),
    (POSTMORTEM, "patch", "editPostmortem",
     "Change the internal or public version; an approval is voided.",
     "200 Postmortem", WRITE + " 404 409", "EditPostmortem"),
    (POSTMORTEM + "/submit", "post", "submitPostmortem", "Ask for review.",
     "200 Postmortem", WRITE + " 404 409", "SubmitPostmortem"),
    (POSTMORTEM + "/approve", "post", "approvePostmortem",
     "Approve exactly the content whose hash you read; never your own.",
     "200 Postmortem", WRITE + " 404 409", "ApprovePostmortem"),
    (POSTMORTEM + "/request-changes", "post", "requestPostmortemChanges",
     "Send back to the author.", "200 Postmortem", WRITE + " 404 409", "RequestChanges"),
    (POSTMORTEM + "/publish", "post", "publishPostmortem",
     "Publish the approved public version (page, feeds, JSON status postmortem); "
     "notify: also announce it through the outlets.",
     "200 Postmortem", WRITE + " 404 409", "PublishPostmortem"),
    (POSTMORTEM + "/unpublish", "post", "unpublishPostmortem",
     "Withdraw the public version (incident manager or admin), with a reason: the page, feeds "
     "and JSON stop showing it, the incident goes back to resolved, and it is published again "
     "only after a new review.",
     "200 Postmortem", WRITE + " 404 409", "UnpublishPostmortem"),
    (POSTMORTEM + "/actions", "get", "listPostmortemActions", "The postmortem's actions.",
     "200 FollowUpAction[]", READ + " 404"),
    (POSTMORTEM + "/actions", "post", "addAction", "Add a follow-up action.",
     "201 FollowUpAction", WRITE + " 404", "NewAction"),
    ("/actions", "get", "listActions",
     "Open follow-up actions across incidents, overdue first (owner=me: your own).",
     "200 FollowUpAction[]", READ + " 422"),
    (ACTION, "patch", "editAction", "Change an action's title, owner, due date, priority or link.",
     "200 FollowUpAction", WRITE + " 404 409", "EditAction"),
    (ACTION + "/status", "post", "setActionStatus",
     "Move an action along (its owner may); won't do needs a reason.",
     "200 FollowUpAction", WRITE + " 404 409", "ActionStatusChange"),
)
# fmt: on
LOCATED = {"startPostmortem"}
OPTIONAL_BODIES = {"SubmitPostmortem", "PublishPostmortem"}
QUERY_PARAMETERS = {"listActions": ["ActionOwner", "Limit"]}
PATH_PARAMETERS = {"{action_id}": "ActionId"}


def parameters() -> dict[str, Any]:
    return {
        "ActionId": {
            "name": "action_id",
            "in": "path",
            "required": True,
            "description": "A follow-up action's id.",
            "schema": {"type": "integer"},
        },
        "ActionOwner": {
            "name": "owner",
            "in": "query",
            "required": False,
            "schema": {"enum": ["anyone", "me"], "default": "anyone"},
        },
    }


def schemas() -> dict[str, Any]:
    person = {"oneOf": [ref("Person"), {"type": "null"}]}
    version = {"type": "integer", "minimum": 1}
    action_fields = {
        "title": _text(300),
        "owner_email": {"type": "string", "format": "email"},
        "due_on": {"type": "string", "format": "date"},
        "priority": {"enum": [p.value for p in ActionPriority], "default": "medium"},
        "tracker_url": {"type": ["string", "null"], "format": "uri", "maxLength": 2048},
    }
    return {
        "Postmortem": _object(
            incident_id=_str(),
            state=_enum(PostmortemState),
            version={"type": "integer", "description": "Send as expected_version."},
            internal_body={"type": "string", "description": "Markdown, for the team."},
            public_body={"type": "string", "description": "Markdown; empty: internal only."},
            content_hash={"type": "string", "description": "Send as expected_hash to approve."},
            author=person,
            approved_by=person,
            approved_hash=_nullable("string"),
            published_body=_nullable("string"),
            published_at=_time(nullable=True),
            public_updated_at=_time(nullable=True),
            url={"type": "string", "format": "uri"},
            open_actions={"type": "integer"},
            actions=_list("FollowUpAction"),
            review=_list("PostmortemReviewEntry"),
            may=_object(
                write={"type": "boolean"}, approve={"type": "boolean"}, publish={"type": "boolean"}
            ),
        ),
        "PostmortemReviewEntry": _object(
            at=_time(),
            action={"enum": [*(a.value for a in ReviewAction), UNPUBLISHED]},
            actor=person,
            comment=_nullable("string"),
            content_hash=_str(),
        ),
        "FollowUpAction": _object(
            id={"type": "integer"},
            incident_id=_str(),
            title=_str(),
            owner=person,
            due_on={"type": "string", "format": "date"},
            priority=_enum(ActionPriority),
            tracker_url=_nullable("string"),
            status=_enum(ActionStatus),
            reason=_nullable("string"),
            overdue={"type": "boolean"},
            version={"type": "integer"},
            closed_at=_time(nullable=True),
            created_at=_time(),
        ),
        "EditPostmortem": _object(
            internal_body=_str(100_000),
            public_body=_str(100_000),
            expected_version=version,
            required=[],
        ),
        "SubmitPostmortem": _object(expected_version=version, comment=_str(5000), required=[]),
        "ApprovePostmortem": _object(
            expected_hash=_str(), comment=_str(5000), required=["expected_hash"]
        ),
        "PublishPostmortem": _object(
            notify={"type": "boolean", "default": False}, expected_version=version, required=[]
        ),
        "UnpublishPostmortem": _object(
            reason=_text(5000),
            expected_version=version,
            required=["reason"],
        ),
        "NewAction": _object(**action_fields, required=["title", "owner_email", "due_on"]),
        "EditAction": _object(**action_fields, expected_version=version, required=[]),
        "ActionStatusChange": _object(
            status=_enum(ActionStatus),
            reason={"type": "string", "maxLength": 2000, "description": "Needed for wont_do."},
            expected_version=version,
            required=["status"],
        ),
    }
