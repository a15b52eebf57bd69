"""Console forms for customer feedback (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Optional

from ...models import IntakeVia
from .forms import options

VIA_CHOICES = options(
    {
        IntakeVia.TICKET.value: _l("Ticket"),
        IntakeVia.PHONE.value: _l("Phone call"),
        IntakeVia.EMAIL.value: _l("Email"),
        IntakeVia.SOCIAL.value: _l("Social media"),
    }
)
CADENCE_CHOICES = options(
    {
        "": _l("Only when reports surge"),
        "15": _l("Every 15 minutes"),
        "30": _l("Every 30 minutes"),
        "60": _l("Every hour"),
        "120": _l("Every 2 hours"),
        "240": _l("Every 4 hours"),
    }
)


class IntakeForm(FlaskForm):
    via = SelectField(_l("How did the customer reach you?"), choices=VIA_CHOICES)
    customer_ref = StringField(_l("Customer reference"))
    ticket_url = URLField(_l("Ticket link"))
    contact = StringField(_l("Contact (handle or phone)"))
    body = TextAreaField(_l("What the customer said"), validators=[DataRequired()])
    component = SelectField(_l("Affected component"), choices=[], validate_choice=False)
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    incident = SelectField(_l("Incident"), choices=[], validate_choice=False)
    email = EmailField(_l("Customer's email address"))
    wants_updates = BooleanField(_l("The customer asked to be told when it is fixed"))
    locale = SelectField(_l("Language to write to the customer in"), validate_choice=False)


class TriageForm(FlaskForm):
    reports = SelectMultipleField(_l("Reports"), coerce=int, validate_choice=False)
    incident = SelectField(_l("Incident"), choices=[], validate_choice=False)


class SettingsForm(FlaskForm):
    cadence = SelectField(_l("Digest to responders"), choices=CADENCE_CHOICES)
    show_public_count = BooleanField(_l("Show on the public page how many people are affected"))


class TargetForm(FlaskForm):
    channel = IntegerField(_l("Outlet"), validators=[DataRequired()])
    webhook_url = URLField(_l("Webhook URL (webhook outlets only)"), validators=[Optional()])


class ButtonForm(FlaskForm):
    pass
