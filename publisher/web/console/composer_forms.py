"""The composer's forms, and what a posted editor form asks the services to change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ...config import SUPPORTED_LOCALES
from ...models import (
    Audience,
    Component,
    Incident,
    Message,
    MessageTemplate,
    Outlet,
)
from ...services.composer import PLACEHOLDERS
from ...services.composer.content import incident_url, status_label
from ...services.markdown import render_markdown
from ...services.outlets import OUTLET_LABELS, variants
from ...services.outlets.lengths import Measure, measure
from ..i18n import LANGUAGE_NAMES
from .forms import INCIDENT_STATUS_CHOICES, MAINTENANCE_STATUS_CHOICES, STATUS_CHOICES, options

# The outlets with their own text box; the status page shows the body itself.
VARIANT_OUTLETS = tuple(outlet for outlet in Outlet if outlet != Outlet.STATUS_PAGE)
AUDIENCE_CHOICES = options(
    {
        Audience.PUBLIC.value: _l("Public (status page, feeds, subscribers, social networks)"),
        Audience.INTERNAL.value: _l("Internal stakeholders"),
    }
)
ALL_STATUS_CHOICES = INCIDENT_STATUS_CHOICES + MAINTENANCE_STATUS_CHOICES
NO_CHANGE = [SelectChoice("", _l("No change"))]
PLACEHOLDER_HINT = " ".join(f"{{{name}}}" for name in PLACEHOLDERS)


# The languages an update may also be written in (the first configured one is the original).
TRANSLATION_LOCALES = SUPPORTED_LOCALES[1:]


class TranslatedForm(FlaskForm):
    """A form with one optional text box per translation language."""

    @property
    def translation_fields(self) -> list[tuple[str, TextAreaField]]:
        return [(locale, self[f"translation_{locale}"]) for locale in TRANSLATION_LOCALES]


def translation_label(locale: str):
    return _l("Update text in %(language)s", language=LANGUAGE_NAMES.get(locale, locale))


class NewMessageForm(TranslatedForm):
    template = SelectField(_l("Start from a template"), coerce=int, default=0)
    audience = SelectField(_l("Audience"), choices=AUDIENCE_CHOICES, default="public")
    incident_status = SelectField(_l("Status this update announces"), validate_choice=False)
    body = TextAreaField(
        _l("Text (Markdown; leave empty to use the template)"),
        validators=[Optional(), Length(max=20_000)],
    )


class EditorForm(TranslatedForm):
    expected_version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    body = TextAreaField(
        _l("Update text (Markdown): the status page entry"), validators=[Length(max=20_000)]
    )
    incident_status = SelectField(_l("Status"), validate_choice=False)


for _locale in TRANSLATION_LOCALES:
    for _form in (NewMessageForm, EditorForm):
        _box = TextAreaField(translation_label(_locale), validators=[Length(max=20_000)])
        setattr(_form, f"translation_{_locale}", _box)

for _outlet in VARIANT_OUTLETS:
    # What the box showed when the page was drawn: a box left as shown is not "edited by hand".
    setattr(EditorForm, f"variant_{_outlet.value}", TextAreaField(OUTLET_LABELS[_outlet]))
    setattr(EditorForm, f"shown_{_outlet.value}", HiddenField())


class ActionForm(FlaskForm):
    """A review or publishing step; `arguments()` are the service call's keyword arguments."""

    step = ""  # the form's prefix on the page

    def arguments(self) -> dict:
        return {"comment": self.comment.data}


class VersionedForm(ActionForm):
    expected_version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def arguments(self) -> dict:
        return {**super().arguments(), "expected_version": self.expected_version.data}


class SubmitForm(VersionedForm):
    step = "submit"
    comment = TextAreaField(_l("Note for the reviewer (optional)"), [Optional(), Length(max=5000)])


class ApproveForm(ActionForm):
    step = "approve"
    # The content hash the reviewer saw: an approval covers exactly that text.
    expected_hash = HiddenField(validators=[DataRequired(), Length(max=64)])
    comment = TextAreaField(_l("Comment (optional)"), [Optional(), Length(max=5000)])

    def arguments(self) -> dict:
        return {**super().arguments(), "expected_hash": self.expected_hash.data}


class RequestChangesForm(VersionedForm):
    step = "changes"
    comment = TextAreaField(_l("What should change?"), [DataRequired(), Length(max=5000)])


class CommentForm(ActionForm):
    step = "comment"
    comment = TextAreaField(_l("Comment"), [DataRequired(), Length(max=5000)])


class PublishForm(VersionedForm):
    step = "publish"
    next_update_in = IntegerField(
        _l("Next update in (minutes)"), validators=[Optional(), NumberRange(1, 24 * 60)]
    )

    def arguments(self) -> dict:
        minutes = self.next_update_in.data
        after = timedelta(minutes=minutes) if minutes else None
        return {"expected_version": self.expected_version.data, "next_update_in": after}


class ScheduleForm(VersionedForm):
    step = "schedule"
    publish_at = DateTimeLocalField(
        _l("Publish at (UTC)"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M"
    )

    def arguments(self) -> dict:
        return {
            "publish_at": self.publish_at.data.replace(tzinfo=UTC),
            "expected_version": self.expected_version.data,
        }


class EmergencyForm(VersionedForm):
    step = "emergency"
    reason = TextAreaField(
        _l("Why can this not wait for a second person?"), [DataRequired(), Length(max=2000)]
    )

    def arguments(self) -> dict:
        return {"reason": self.reason.data, "expected_version": self.expected_version.data}


class ReviseForm(ActionForm):
    step = "revise"

    def arguments(self) -> dict:
        return {}


ACTION_FORMS = (
    SubmitForm,
    ApproveForm,
    RequestChangesForm,
    CommentForm,
    PublishForm,
    ScheduleForm,
    EmergencyForm,
    ReviseForm,
)


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    incident_status = SelectField(_l("Status"), choices=ALL_STATUS_CHOICES)
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=10_000)])


def status_choices(incident: Incident) -> list[SelectChoice]:
    return MAINTENANCE_STATUS_CHOICES if incident.is_maintenance else INCIDENT_STATUS_CHOICES


def with_components(form_class, components: list[Component], **kwargs) -> FlaskForm:
    """`form_class` plus one "new status" select per component (empty: no change)."""
    fields = {
        f"component_{c.public_id}": SelectField(
            c.name, choices=NO_CHANGE + STATUS_CHOICES, default="", validate_choice=False
        )
        for c in components
    }
    form = type(form_class.__name__, (form_class,), fields)(**kwargs)
    form.component_fields = [(c, form[f"component_{c.public_id}"]) for c in components]
    return form


def new_message_form(incident: Incident, templates: list[MessageTemplate]) -> NewMessageForm:
    form = with_components(NewMessageForm, incident.components)
    keep = SelectChoice("", _l("The template's status (or the current one)"))
    form.incident_status.choices = [keep, *status_choices(incident)]
    allowed = {choice.value for choice in status_choices(incident)}
    fitting = [t for t in templates if t.incident_status in allowed]
    blank = SelectChoice(0, _l("No template: a blank update"))
    form.template.choices = [blank, *(SelectChoice(t.id, t.name) for t in fitting)]
    return form


def draft_arguments(form: NewMessageForm, incident: Incident, template) -> dict:
    """Keyword arguments for composer.create_draft from the new-update form."""
    status = form.incident_status.data or (template.incident_status if template else None)
    return {
        "incident_status": status or incident.status,
        "body": form.body.data or "",
        "audience": form.audience.data,
        "component_statuses": chosen_statuses(form),
        "template": template,
        "translations": typed_translations(form),
    }


def chosen_statuses(form) -> dict[Component, str]:
    return {c: field.data for c, field in form.component_fields if field.data}


def edit_arguments(form: EditorForm) -> dict:
    """What the editor form changes: only the fields it sent, only the boxes someone typed in.

    The body, status and components are sent only by people who may change them
    (the fieldset is disabled for the others), so absent means "leave as it is".
    """
    changes: dict = {"variant_texts": typed_variants(form)}
    if form.body.raw_data:
        changes["body"] = form.body.data or ""
        changes["translations"] = typed_translations(form)
    if form.incident_status.raw_data:
        changes["incident_status"] = form.incident_status.data
        changes["component_statuses"] = chosen_statuses(form)
    return changes


def typed_variants(form: EditorForm) -> dict[str, str]:
    texts = {}
    for outlet in VARIANT_OUTLETS:
        box, shown = form[f"variant_{outlet.value}"], form[f"shown_{outlet.value}"]
        if box.raw_data and normalise(box.data) != normalise(shown.data):
            texts[outlet.value] = box.data
    return texts


def typed_translations(form: TranslatedForm) -> dict[str, str]:
    """The translation boxes the form sent ({locale: text}); an empty one removes it."""
    return {locale: box.data or "" for locale, box in form.translation_fields if box.raw_data}


def normalise(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


# ---------------------------------------------------------------- what the page shows


@dataclass
class OutletPreview:
    """One outlet's text as it would go out, measured in that network's own unit."""

    outlet: Outlet
    text: str
    derived: bool  # follows the body (nobody edited this outlet's text by hand)
    measure: Measure
    html: Markup | None = None  # the status page and email body are Markdown

    @property
    def label(self) -> str:
        return str(OUTLET_LABELS[self.outlet])

    @property
    def counter(self) -> str:
        m = self.measure
        if m.limit is None:
            return _("%(count)d %(unit)s", count=m.count, unit=m.unit)
        text = _("%(count)d / %(limit)d %(unit)s", count=m.count, limit=m.limit, unit=m.unit)
        return text + (" · " + _("%(n)d over the limit", n=m.over_by) if m.over_by else "")

    @property
    def problem(self) -> str | None:
        if self.measure.problem or self.measure.ok:
            return self.measure.problem
        return _("Too long for %(outlet)s: shorten it before saving.", outlet=self.label)

    @property
    def segments(self) -> list[tuple[str, str]]:
        """The text cut into plain runs and links, for a post card (never raw HTML)."""
        text = _slack_display(self.text) if self.outlet == Outlet.SLACK else self.text
        pieces, last = [], 0
        for match in _LINK.finditer(text):
            pieces += [("text", text[last : match.start()]), ("link", match.group())]
            last = match.end()
        return [p for p in [*pieces, ("text", text[last:])] if p[1]]

    def as_json(self) -> dict:
        return {
            "outlet": self.outlet.value,
            "text": self.text,
            "derived": self.derived,
            "counter": self.counter,
            "ok": self.measure.ok,
            "problem": self.problem,
            "segments": self.segments,
            "html": str(self.html) if self.html is not None else None,
        }


_LINK = re.compile(r"https?://[^\s<>|]+")


def _slack_display(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def outlet_previews(message: Message, form: EditorForm | None) -> list[OutletPreview]:
    """Every outlet's text: as saved, or as the posted (unsaved) form would make it."""
    texts = saved_texts(message) if form is None else posted_texts(message, form)
    previews = []
    for outlet, (text, derived) in texts.items():
        html = render_markdown(text) if outlet in (Outlet.STATUS_PAGE, Outlet.EMAIL_BODY) else None
        previews.append(OutletPreview(outlet, text, derived, measure(outlet, text), html))
    return previews


def saved_texts(message: Message) -> dict[Outlet, tuple[str, bool]]:
    stored = {v.outlet: v for v in message.variants}
    texts = {Outlet.STATUS_PAGE: (message.body, False)}
    for outlet in VARIANT_OUTLETS:
        variant = stored.get(outlet)
        texts[outlet] = (variant.text, not variant.edited) if variant else ("", True)
    return texts


def posted_texts(message: Message, form: EditorForm) -> dict[Outlet, tuple[str, bool]]:
    """Mirror of what saving would keep: typed boxes and hand-edited texts stay, the rest
    follow the (posted) body."""
    body = normalise(form.body.data if form.body.raw_data else message.body)
    status = form.incident_status.data if form.incident_status.raw_data else None
    derived = _derive(message.incident, body, status or message.incident_status)
    typed, stored = typed_variants(form), {v.outlet: v for v in message.variants}
    texts = {Outlet.STATUS_PAGE: (body, False)}
    for outlet in VARIANT_OUTLETS:
        variant = stored.get(outlet)
        if outlet.value in typed:
            texts[outlet] = (normalise(typed[outlet.value]), False)
        elif variant is not None and variant.edited:
            texts[outlet] = (variant.text, False)
        else:
            texts[outlet] = (derived[outlet.value], True)
    return texts


def _derive(incident: Incident, body: str, status: str) -> dict[str, str]:
    return variants.derive(
        body,
        incident_url(incident),
        incident.name,
        current_app.config["PAGE_NAME"],
        status_label(status),
    )


def fill_editor(form: EditorForm, previews: list[OutletPreview]) -> None:
    """Show each box's current text; a box nobody typed in counts as shown as it is now."""
    typed = typed_variants(form)
    for preview in previews:
        if preview.outlet == Outlet.STATUS_PAGE:
            continue
        form[f"variant_{preview.outlet.value}"].data = preview.text
        if preview.outlet.value not in typed:
            form[f"shown_{preview.outlet.value}"].data = preview.text


def posted_editor(message: Message, components: list[Component], **kwargs) -> EditorForm:
    form = with_components(EditorForm, components, **kwargs)
    form.incident_status.choices = status_choices(message.incident)
    return form


def editor_form(message: Message, components: list[Component]) -> EditorForm:
    """The editor filled from the saved message (a GET)."""
    statuses = {c.component_id: c.new_status for c in message.component_changes}
    form = posted_editor(
        message,
        components,
        formdata=None,
        body=message.body,
        incident_status=message.incident_status,
        expected_version=message.version,
    )
    for component, field in form.component_fields:
        field.data = statuses.get(component.id, "")
    translated = {t.locale: t.body for t in message.translations}
    for locale, box in form.translation_fields:
        box.data = translated.get(locale, "")
    fill_editor(form, outlet_previews(message, None))
    return form


def announced(message: Message, form: EditorForm | None) -> tuple[str, list[tuple[str, str]]]:
    """The status and component changes the update announces (posted, else saved)."""
    if form is not None and form.incident_status.raw_data:
        changes = [(c.name, status) for c, status in chosen_statuses(form).items()]
        return form.incident_status.data, changes
    changes = [(c.component.name, c.new_status) for c in message.component_changes]
    return message.incident_status, changes
