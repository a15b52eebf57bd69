"""Forms of the postmortem pages; the review steps reuse the composer's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from ...models import ActionPriority, ActionStatus
from ...services.postmortems.actions import MAX_REASON, MAX_TITLE, MAX_URL
from ...services.postmortems.content import MAX_BODY
from ...services.postmortems.review import MAX_COMMENT
from .composer_forms import (
    ApproveForm,
    CommentForm,
    RequestChangesForm,
    SubmitForm,
    VersionedForm,
)
from .forms import options

PRIORITY_LABELS = {
    ActionPriority.HIGH: _l("High"),
    ActionPriority.MEDIUM: _l("Medium"),
    ActionPriority.LOW: _l("Low"),
}
ACTION_STATUS_LABELS = {
    ActionStatus.OPEN: _l("Open"),
    ActionStatus.IN_PROGRESS: _l("In progress"),
    ActionStatus.DONE: _l("Done"),
    ActionStatus.WONT_DO: _l("Won't do"),
}


class PostmortemEditorForm(FlaskForm):
    expected_version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    internal_body = TextAreaField(
        _l("Internal version (Markdown): the full review, for the team"),
        validators=[Length(max=MAX_BODY)],
    )
    public_body = TextAreaField(
        _l("Public version (Markdown, optional): what customers read on the incident page"),
        validators=[Length(max=MAX_BODY)],
    )


class PublishPostmortemForm(VersionedForm):
    step = "publish"
    notify = BooleanField(_l("Also notify subscribers and post to the outlets"))

    def arguments(self) -> dict:
        return {"expected_version": self.expected_version.data, "notify": bool(self.notify.data)}


class ActionForm(FlaskForm):
    expected_version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=False)
    due_on = DateField(_l("Due date"), validators=[InputRequired()])
    priority = SelectField(
        _l("Priority"),
        choices=options(PRIORITY_LABELS),
        default=ActionPriority.MEDIUM.value,
    )
    tracker_url = StringField(
        _l("Link to the tracker (optional)"), validators=[Optional(), Length(max=MAX_URL)]
    )


class ActionStatusForm(FlaskForm):
    expected_version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    status = SelectField(_l("Status"), choices=options(ACTION_STATUS_LABELS))
    reason = TextAreaField(
        _l("Why it will not be done (needed for won't do)"),
        validators=[Optional(), Length(max=MAX_REASON)],
    )


class UnpublishPostmortemForm(VersionedForm):
    step = "unpublish"
    reason = TextAreaField(
        _l("Why is it withdrawn? (recorded on the review trail and the incident timeline)"),
        validators=[DataRequired(), Length(max=MAX_COMMENT)],
    )

    def arguments(self) -> dict:
        return {"expected_version": self.expected_version.data, "reason": self.reason.data}


# The review steps, as on the composer page (same prefixes, same arguments).
REVIEW_FORMS = (SubmitForm, ApproveForm, RequestChangesForm, CommentForm, PublishPostmortemForm)
