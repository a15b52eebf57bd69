"""Outlet and delivery forms: one outlet form per kind, built from its settings schema."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ...models import Audience, ChannelKind, DeliveryState
from ...services.errors import ServiceError
from .forms import INCIDENT_STATUS_CHOICES, MAINTENANCE_STATUS_CHOICES, options
from .helpers import form_failed

SETTING_PREFIX = "setting_"
KIND_LABELS = {
    ChannelKind.X: _l("X"),
    ChannelKind.MASTODON: _l("Mastodon"),
    ChannelKind.BLUESKY: _l("Bluesky"),
    ChannelKind.SLACK: _l("Slack"),
    ChannelKind.WEBHOOK: _l("Webhook subscribers"),
    ChannelKind.EMAIL: _l("Email"),
}
AUDIENCE_LABELS = {Audience.PUBLIC: _l("Public"), Audience.INTERNAL: _l("Internal stakeholders")}
DELIVERY_STATE_LABELS = {
    DeliveryState.PENDING: _l("pending"),
    DeliveryState.SENDING: _l("sending"),
    DeliveryState.SENT: _l("sent"),
    DeliveryState.RETRYING: _l("retrying"),
    DeliveryState.DEAD: _l("dead"),
    DeliveryState.UNKNOWN: _l("unknown"),
    DeliveryState.CANCELLED: _l("cancelled"),
}
SECRET_HINT = _l("Leave empty to keep; env:NAME reads it from the environment.")


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered inside a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ErrorSlot:
    """Where a service's refusal of the secrets as a whole is shown (not a form field)."""

    def __init__(self) -> None:
        self.errors: list[str] = []


class OutletForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[InputRequired(), Length(max=200)],
        description=_l("How the console names it, for example @status or #incidents."),
    )
    enabled = BooleanField(_l("On: post updates to this outlet"), default=True)
    audiences = CheckboxesField(
        _l("Audiences it posts"),
        choices=options({a.value: label for a, label in AUDIENCE_LABELS.items()}),
        default=[Audience.PUBLIC.value],
    )
    statuses = CheckboxesField(
        _l("Incident statuses it posts"),
        choices=INCIDENT_STATUS_CHOICES + MAINTENANCE_STATUS_CHOICES,
    )


def outlet_form(schema, channel=None, secrets_set=()) -> OutletForm:
    """An OutletForm plus one field per setting; secret fields never carry their value."""
    fields = {SETTING_PREFIX + s.name: _setting_field(s) for s in schema}
    form_class = type("KindOutletForm", (OutletForm,), fields)
    form = form_class(data=_initial(schema, channel))
    form.setting_names = {s.name for s in schema}
    form.plain_fields = [(s, form[SETTING_PREFIX + s.name]) for s in schema if not s.secret]
    form.secret_fields = [
        (s, form[SETTING_PREFIX + s.name], s.name in secrets_set) for s in schema if s.secret
    ]
    form.secrets = ErrorSlot()
    return form


def _setting_field(setting) -> Field:
    label, help_text = setting.label, setting.help or None
    if setting.secret:
        return PasswordField(label, [Optional(), Length(max=4000)], description=help_text)
    if setting.kind == "bool":
        return BooleanField(label, description=help_text)
    if setting.kind == "list":
        return TextAreaField(label, [Optional(), Length(max=20_000)], description=help_text)
    field_class = URLField if setting.kind == "url" else StringField
    return field_class(label, [Optional(), Length(max=2000)], description=help_text)


def _initial(schema, channel) -> dict:
    if channel is None:
        return {SETTING_PREFIX + s.name: _shown(s, s.default) for s in schema if not s.secret}
    current = channel.settings or {}
    data = {
        "name": channel.name,
        "enabled": channel.enabled,
        "audiences": list(channel.audiences or []),
        "statuses": list(channel.statuses or []),
    }
    for s in (s for s in schema if not s.secret):
        data[SETTING_PREFIX + s.name] = _shown(s, current.get(s.name, s.default))
    return data


def _shown(setting, value):
    if setting.kind == "list" and isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return value


def save_arguments(form: OutletForm) -> dict:
    """Keyword arguments for outlet_admin.save_channel; only secrets typed in are sent."""
    settings, secrets = {}, {}
    for setting, field in form.plain_fields:
        settings[setting.name] = field.data
    for setting, field, _is_set in form.secret_fields:
        if (field.data or "").strip():
            secrets[setting.name] = field.data.strip()
    return {
        "name": form.name.data,
        "enabled": form.enabled.data,
        "audiences": form.audiences.data or None,  # none ticked: the default, public
        "statuses": form.statuses.data,
        "settings": settings,
        "secrets": secrets,
    }


def outlet_failed(form: OutletForm, error: ServiceError) -> None:
    """Show a refusal beside the setting it names (settings' fields carry a prefix)."""
    if error.field in form.setting_names:
        error.field = SETTING_PREFIX + error.field
    form_failed(form, error)


class SettleForm(FlaskForm):
    went_out = RadioField(
        _l("Did it go out?"),
        choices=options({"yes": _l("Yes, the post is there"), "no": _l("No, it did not go out")}),
        validators=[InputRequired(message=_l("Say whether it went out."))],
    )
    note = TextAreaField(
        _l("What you found"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )
