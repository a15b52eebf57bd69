"""Console forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...models import ComponentStatus, Impact, IncidentStatus, MaintenanceStatus, Role
from ...services.public import IMPACT_LABELS, INCIDENT_STATUS_LABELS, STATUS_LABELS
from ...services.roster import ROLE_LABELS
from ..labels import ACCOUNT_ROLE_LABELS, TIMELINE_KIND_LABELS


def options(labels: Mapping) -> list[SelectChoice]:
    """Select options from {value: label}, in order (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in labels.items()]


IMPACT_CHOICES = options({i.value: IMPACT_LABELS[i] for i in Impact if i != Impact.MAINTENANCE})
STATUS_CHOICES = options({s.value: STATUS_LABELS[s] for s in ComponentStatus})
INCIDENT_STATUS_CHOICES = options(
    {s.value: INCIDENT_STATUS_LABELS[s.value] for s in IncidentStatus}
)
MAINTENANCE_STATUS_CHOICES = options(
    {s.value: INCIDENT_STATUS_LABELS[s.value] for s in MaintenanceStatus}
)
ROLE_CHOICES = options({r.value: ACCOUNT_ROLE_LABELS[r] for r in Role})
ROSTER_CHOICES = options({r.value: label for r, label in ROLE_LABELS.items()})
TIMELINE_KIND_CHOICES = options(TIMELINE_KIND_LABELS)


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Sign in"))


class DeclareIncidentForm(FlaskForm):
    name = StringField(_l("What is happening?"), validators=[DataRequired(), Length(max=300)])
    impact = SelectField(_l("Impact"), choices=IMPACT_CHOICES, default="minor")
    components = SelectMultipleField(_l("Affected components"), coerce=int)
    component_status = SelectField(
        _l("Set them to"), choices=STATUS_CHOICES, default="degraded_performance"
    )
    submit = SubmitField(_l("Declare incident"))


class UpdateIncidentForm(FlaskForm):
    status = SelectField(_l("Status"), choices=INCIDENT_STATUS_CHOICES)
    impact = SelectField(_l("Impact"), choices=IMPACT_CHOICES)
    submit = SubmitField(_l("Save"))


class ComponentStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    submit = SubmitField(_l("Change"))


class AssignRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROSTER_CHOICES)
    user = SelectField(_l("Person"), coerce=int)
    label = StringField(
        _l("Label (optional; names an ad-hoc role)"), validators=[Optional(), Length(max=120)]
    )
    submit = SubmitField(_l("Assign"))


class TimelineEntryForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=TIMELINE_KIND_CHOICES, default="note")
    body = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=5000)])
    at = DateTimeLocalField(
        _l("When (UTC; empty for now)"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    submit = SubmitField(_l("Add to timeline"))


class MaintenanceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    components = SelectMultipleField(_l("Components"), coerce=int)
    scheduled_for = DateTimeLocalField(
        _l("Starts (UTC)"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M"
    )
    scheduled_until = DateTimeLocalField(
        _l("Ends (UTC)"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M"
    )
    auto_transition = BooleanField(_l("Start and complete automatically"), default=True)
    submit = SubmitField(_l("Schedule maintenance"))


class MaintenanceStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=MAINTENANCE_STATUS_CHOICES)
    submit = SubmitField(_l("Change"))


class ComponentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    group = SelectField(_l("Group"), coerce=int)
    position = IntegerField(
        _l("Position"), validators=[Optional(), NumberRange(0, 100000)], default=0
    )
    only_show_if_degraded = BooleanField(_l("Only show when not operational"))
    submit = SubmitField(_l("Save component"))


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Add group"))


class NewUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(10, 1000)])
    submit = SubmitField(_l("Create account"))


class EditUserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    enabled = BooleanField(_l("Account enabled"))
    submit = SubmitField(_l("Save"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(10, 1000)])
    submit = SubmitField(_l("Change password"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=120)])
    submit = SubmitField(_l("Create token"))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""

    submit = SubmitField(_l("Confirm"))
