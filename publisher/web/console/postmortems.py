"""The postmortem of an incident and its follow-up actions, in the console."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...models import (
    FollowUpAction,
    Incident,
    Postmortem,
    utcnow,
)
from ...services import incidents, postmortems, users
from ...services.composer.common import review_state_label
from ...services.errors import ServiceError
from ...services.markdown import render_markdown
from ...services.permissions import Can, allowed, require
from ..access import STAFF, acting_user, allow
from . import blueprint
from .composer import REVIEW_LABELS
from .forms import ConfirmForm, options
from .helpers import form_failed, refused
from .postmortem_forms import (
    ACTION_STATUS_LABELS,
    PRIORITY_LABELS,
    REVIEW_FORMS,
    ActionForm,
    ActionStatusForm,
    PostmortemEditorForm,
    UnpublishPostmortemForm,
)

RIGHTS = (Can.WRITE_POSTMORTEM, Can.APPROVE, Can.PUBLISH_POSTMORTEM)
# The trail's steps: an update's, and withdrawing, which only a postmortem has.
TRAIL_LABELS = {**REVIEW_LABELS, postmortems.UNPUBLISHED: _l("withdrew it from the public side")}


@blueprint.context_processor
def _postmortem_helpers() -> dict:
    return {
        "postmortem_state_label": review_state_label,
        "action_status_label": lambda status: str(ACTION_STATUS_LABELS.get(status, status)),
        "priority_label": lambda priority: str(PRIORITY_LABELS.get(priority, priority)),
        "postmortem_overview": postmortem_overview,
        "render_markdown": render_markdown,
    }


def postmortem_overview(incident: Incident) -> dict | None:
    """For the incident page: whether a postmortem exists and how many actions are open."""
    count = postmortems.open_count(incident)
    return None if count is None else {"open_actions": count}


# ---------------------------------------------------------------- the document


@blueprint.route("/incidents/<public_id>/postmortem")
@allow(STAFF)
def postmortem(public_id: str):
    incident = incidents.get_incident(public_id)
    found = postmortems.find_postmortem(incident)
    if found is None:
        return render_template(
            "console/postmortem.html", incident=incident, postmortem=None, confirm=ConfirmForm()
        )
    return _page(found)


@blueprint.route("/incidents/<public_id>/postmortem/start", methods=["POST"])
@allow(STAFF)
def start_postmortem(public_id: str):
    incident = incidents.get_incident(public_id)
    require(acting_user(), Can.WRITE_POSTMORTEM, incident)
    if ConfirmForm().validate_on_submit():
        try:
            postmortems.start_postmortem(acting_user(), incident)
        except ServiceError as error:
            refused(error)
        else:
            flash(_("Postmortem started from the incident's record. Complete it."), "info")
    return redirect(url_for("console.postmortem", public_id=public_id))


@blueprint.route("/incidents/<public_id>/postmortem/edit", methods=["POST"])
@allow(STAFF)
def edit_postmortem(public_id: str):
    found = _postmortem(public_id, Can.WRITE_POSTMORTEM)
    form = PostmortemEditorForm()
    if not form.validate_on_submit():
        return _page(found, editor=form), 422
    version = found.version
    try:
        postmortems.edit_postmortem(
            acting_user(),
            found,
            internal_body=form.internal_body.data,
            public_body=form.public_body.data,
            expected_version=form.expected_version.data,
        )
    except ServiceError as error:
        form_failed(form, error)
        return _page(found, editor=form), error.status_code
    saved = found.version != version
    flash(_("Saved.") if saved else _("Nothing changed, so nothing was saved."), "info")
    return _back(public_id, "document")


@blueprint.route("/incidents/<public_id>/postmortem/submit", methods=["POST"])
@allow(STAFF)
def submit_postmortem(public_id: str):
    done = _("Sent for review.")
    return _act(public_id, Can.WRITE_POSTMORTEM, "submit", postmortems.submit, done)


@blueprint.route("/incidents/<public_id>/postmortem/approve", methods=["POST"])
@allow(STAFF)
def approve_postmortem(public_id: str):
    return _act(public_id, Can.APPROVE, "approve", postmortems.approve, _("Approved."))


@blueprint.route("/incidents/<public_id>/postmortem/request-changes", methods=["POST"])
@allow(STAFF)
def request_postmortem_changes(public_id: str):
    done = _("Sent back to the author with your comment.")
    return _act(public_id, Can.APPROVE, "changes", postmortems.request_changes, done)


@blueprint.route("/incidents/<public_id>/postmortem/comment", methods=["POST"])
@allow(STAFF)
def comment_postmortem(public_id: str):
    incident = incidents.get_incident(public_id)
    if not allowed(acting_user(), Can.APPROVE, incident):
        require(acting_user(), Can.WRITE_POSTMORTEM, incident)  # writers and approvers comment
    return _act(public_id, None, "comment", postmortems.add_comment, _("Comment added."))


@blueprint.route("/incidents/<public_id>/postmortem/publish", methods=["POST"])
@allow(STAFF)
def publish_postmortem(public_id: str):
    done = _("Published: the public version is on the incident page, the JSON and the feeds.")
    return _act(public_id, Can.PUBLISH_POSTMORTEM, "publish", postmortems.publish, done)


@blueprint.route("/incidents/<public_id>/postmortem/unpublish", methods=["GET", "POST"])
@allow(STAFF)
def unpublish_postmortem(public_id: str):
    """Withdraw the public version: a page that says what it does and asks why (no script)."""
    found = _postmortem(public_id, Can.APPROVE)
    if not found.is_published:
        flash(_("This postmortem is not published, so there is nothing to withdraw."), "info")
        return _back(public_id, "review")
    form = UnpublishPostmortemForm(prefix=UnpublishPostmortemForm.step)
    if request.method == "GET":
        form.expected_version.data = found.version
        return _confirm_unpublish(found, form)
    return _unpublish(found, form)


def _unpublish(found: Postmortem, form: UnpublishPostmortemForm):
    public_id, voids = found.incident.public_id, postmortems.withdrawing_voids_approval(found)
    if not form.validate_on_submit():
        return _confirm_unpublish(found, form), 422
    try:
        postmortems.unpublish(acting_user(), found, **form.arguments())
    except ServiceError as error:
        form_failed(form, error)
        if error.field:
            return _confirm_unpublish(found, form), error.status_code
        return _back(public_id, "review")
    withdrawn = _(
        "Withdrawn: visitors no longer see the postmortem. It is back in draft and is "
        "published again only after a new review."
    )
    flash(withdrawn if voids else _("Withdrawn: visitors no longer see the postmortem."), "info")
    return _back(public_id, "review")


@blueprint.route("/incidents/<public_id>/postmortem.md")
@allow(STAFF)
def postmortem_markdown(public_id: str):
    found = _postmortem(public_id)
    return Response(
        postmortems.export_markdown(found),
        mimetype="text/markdown",
        headers={"Content-Disposition": f'attachment; filename="postmortem-{public_id}.md"'},
    )


@blueprint.route("/incidents/<public_id>/postmortem/print")
@allow(STAFF)
def postmortem_print(public_id: str):
    found = _postmortem(public_id)
    return render_template(
        "console/postmortem_print.html", postmortem=found, incident=found.incident, now=utcnow()
    )


# ---------------------------------------------------------------- follow-up actions


@blueprint.route("/incidents/<public_id>/postmortem/actions", methods=["POST"])
@allow(STAFF)
def add_action(public_id: str):
    found = _postmortem(public_id, Can.WRITE_POSTMORTEM)
    form = _action_form()
    if not form.validate_on_submit():
        return _page(found, action_form=form), 422
    try:
        postmortems.add_action(acting_user(), found, **_action_arguments(form))
    except ServiceError as error:
        form_failed(form, error)
        return _page(found, action_form=form), error.status_code
    flash(_("Action added."), "info")
    return _back(public_id, "actions")


@blueprint.route("/actions")
@allow(STAFF)
def actions():
    return _actions_page(mine=request.args.get("owner") == "me")


@blueprint.route("/actions/<int:action_id>/edit", methods=["POST"])
@allow(STAFF)
def edit_action(action_id: int):
    action = postmortems.get_action(action_id)
    require(acting_user(), Can.WRITE_POSTMORTEM, action.postmortem.incident)
    form = _action_form(prefix=f"action{action.id}")
    if not form.validate_on_submit():
        return _page(action.postmortem, edit_forms={action.id: form}), 422
    try:
        postmortems.edit_action(
            acting_user(),
            action,
            expected_version=form.expected_version.data,
            **_action_arguments(form),
        )
    except ServiceError as error:
        form_failed(form, error)
        return _page(action.postmortem, edit_forms={action.id: form}), error.status_code
    flash(_("Action saved."), "info")
    return _back(action.postmortem.incident.public_id, f"action-{action.id}")


@blueprint.route("/actions/<int:action_id>/status", methods=["POST"])
@allow(STAFF)
def action_status(action_id: int):
    action = postmortems.get_action(action_id)
    if not postmortems.may_change_status(acting_user(), action):
        require(acting_user(), Can.WRITE_POSTMORTEM, action.postmortem.incident)  # a 403
    form = ActionStatusForm(prefix=f"status{action.id}")
    if not form.validate_on_submit():
        return _status_refused(action, form, 422)
    try:
        postmortems.set_status(
            acting_user(),
            action,
            form.status.data,
            reason=form.reason.data,
            expected_version=form.expected_version.data,
        )
    except ServiceError as error:
        form_failed(form, error)  # won't do without a reason: asked again beside the field
        if error.field:
            return _status_refused(action, form, error.status_code)
        return _after_status(action)
    flash(_("Action status saved."), "info")
    return _after_status(action)


# ---------------------------------------------------------------- helpers


def _postmortem(public_id: str, capability: Can | None = None) -> Postmortem:
    """The incident's postmortem, after checking the role (a 403 before a 404)."""
    incident = incidents.get_incident(public_id)
    if capability is not None:
        require(acting_user(), capability, incident)
    return postmortems.get_postmortem(incident)


def _act(public_id: str, capability: Can | None, step: str, service: Callable, done: str):
    found = _postmortem(public_id, capability)
    form_class = next(f for f in REVIEW_FORMS if f.step == step)
    form = form_class(prefix=form_class.step)
    if not form.validate_on_submit():
        return _page(found, **{step: form}), 422
    try:
        service(acting_user(), found, **form.arguments())
    except ServiceError as error:
        form_failed(form, error)
        return _page(found, **{step: form}), error.status_code
    flash(done, "info")
    return _back(public_id, "review")


def _back(public_id: str, anchor: str):
    return redirect(url_for("console.postmortem", public_id=public_id) + f"#{anchor}")


def _after_status(action: FollowUpAction):
    if _from_actions_list():
        return redirect(
            url_for("console.actions", owner="me" if request.form.get("mine") else None)
        )
    return _back(action.postmortem.incident.public_id, f"action-{action.id}")


def _status_refused(action: FollowUpAction, form: ActionStatusForm, status: int):
    """The page the status was chosen on again, the refusal beside the field it is about."""
    form.expected_version.data = action.version
    if _from_actions_list():
        page = _actions_page(mine=bool(request.form.get("mine")), refused={action.id: form})
        return page, status
    return _page(action.postmortem, status_forms={action.id: form}), status


def _from_actions_list() -> bool:
    return request.form.get("next", "") == "actions"


def _actions_page(mine: bool, refused: dict | None = None) -> str:
    """Open actions, each its owner may move along from the list (won't do with a reason)."""
    user = acting_user()
    rows = postmortems.open_actions(owner=user if mine else None)
    forms = {r.action.id: _status_form(r.action) for r in rows if r.action.owner_id == user.id}
    return render_template(
        "console/actions.html", rows=rows, mine=mine, status_forms=forms | (refused or {})
    )


def _confirm_unpublish(found: Postmortem, form: UnpublishPostmortemForm) -> str:
    return render_template(
        "console/postmortem_unpublish.html",
        incident=found.incident,
        postmortem=found,
        form=form,
        voids_approval=postmortems.withdrawing_voids_approval(found),
        announcements=postmortems.announcements(found),
    )


def _action_form(**kwargs) -> ActionForm:
    form = ActionForm(**kwargs)
    form.owner.choices = options(
        {u.id: f"{u.name} ({u.email})" for u in users.all_users() if u.is_enabled}
    )
    return form


def _action_arguments(form: ActionForm) -> dict:
    owner = next((u for u in users.all_users() if u.id == form.owner.data), None)
    return {
        "title": form.title.data,
        "owner": owner,
        "due_on": form.due_on.data,
        "priority": form.priority.data,
        "tracker_url": form.tracker_url.data or None,
    }


def _page(
    found: Postmortem, editor=None, action_form=None, edit_forms=None, status_forms=None, **given
):
    user, incident = acting_user(), found.incident
    rights = {cap.value: allowed(user, cap, incident) for cap in RIGHTS}
    rights["own"] = user.id in (found.author_id, found.last_editor_id)
    forms = {f.step: given.get(f.step) or f(formdata=None, prefix=f.step) for f in REVIEW_FORMS}
    for form in forms.values():
        if hasattr(form, "expected_version"):
            form.expected_version.data = found.version
    forms["approve"].expected_hash.data = postmortems.content_hash(found)
    if editor is None:
        editor = PostmortemEditorForm(formdata=None, obj=found)
        editor.expected_version.data = found.version
    return render_template(
        "console/postmortem.html",
        incident=incident,
        postmortem=found,
        editor=editor,
        forms=forms,
        rights=rights,
        action_form=action_form or _action_form(formdata=None),
        edit_forms=_edit_forms(found, edit_forms or {}),
        status_forms={a.id: _status_form(a) for a in found.actions} | (status_forms or {}),
        may_change_status=lambda a: postmortems.may_change_status(user, a),
        review_label=lambda action: str(TRAIL_LABELS.get(action, action)),
    )


def _edit_forms(found: Postmortem, given: dict) -> dict:
    forms = {}
    for action in found.actions:
        form = given.get(action.id)
        if form is None:
            form = _action_form(formdata=None, obj=action, prefix=f"action{action.id}")
            form.owner.data = action.owner_id
        form.expected_version.data = action.version
        forms[action.id] = form
    return forms


def _status_form(action: FollowUpAction) -> ActionStatusForm:
    form = ActionStatusForm(formdata=None, obj=action, prefix=f"status{action.id}")
    form.reason.data = action.status_reason
    form.expected_version.data = action.version
    return form
