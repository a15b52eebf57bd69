"""Subscribing without an account: email (double opt-in), webhooks, follow one incident,
manage and one-click unsubscribe (RFC 8058).

These pages are never cached (they carry forms, secrets and per-subscriber links).
A GET never changes anything: link scanners follow GETs, so confirming and
unsubscribing take a POST.
"""

from __future__ import annotations

from flask import Response, abort, g, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectMultipleField, SubmitField, URLField
from wtforms.validators import DataRequired, Length

from ...extensions import csrf, limiter
from ...services import subscriptions
from ...services.errors import InvalidInput, NotFound
from ...services.outgoing import manage_url
from ...services.public import find_incident, load_components
from . import blueprint
from .pages import PUBLIC_ID

SUBSCRIBE_LIMIT = "5 per minute;30 per hour"


class EmailForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=320)],
    )
    components = SelectMultipleField(_l("Components"), choices=[])
    submit = SubmitField(_l("Subscribe by email"))


class WebhookForm(FlaskForm):
    url = URLField(
        _l("Webhook URL"),
        validators=[DataRequired(_l("Enter the URL to send updates to.")), Length(max=2048)],
    )
    components = SelectMultipleField(_l("Components"), choices=[])
    submit = SubmitField(_l("Subscribe the webhook"))


class FollowForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=320)],
    )
    submit = SubmitField(_l("Follow this incident"))


class ComponentsForm(FlaskForm):
    components = SelectMultipleField(_l("Components"), choices=[])
    submit = SubmitField(_l("Save my choice"))


class ButtonForm(FlaskForm):
    submit = SubmitField()


# ---------------------------------------------------------------- subscribe


@blueprint.route("/subscribe", methods=["GET", "POST"])
@limiter.shared_limit(SUBSCRIBE_LIMIT, scope="subscribe", methods=["POST"])
def subscribe():
    email_form, webhook_form = _subscribe_forms()
    if email_form.validate_on_submit():
        try:
            subscriptions.subscribe_email(email_form.email.data, email_form.components.data)
        except InvalidInput as error:
            _field_error(email_form, error)
        else:
            return _check_inbox()
    return _subscribe_page(email_form, webhook_form)


@blueprint.post("/subscribe/webhook")
@limiter.shared_limit(SUBSCRIBE_LIMIT, scope="subscribe", methods=["POST"])
def subscribe_webhook():
    email_form, webhook_form = _subscribe_forms()
    if webhook_form.validate_on_submit():
        try:
            saved = subscriptions.subscribe_webhook(
                webhook_form.url.data, webhook_form.components.data
            )
        except InvalidInput as error:
            _field_error(webhook_form, error)
        else:
            return _notice(
                "webhook",
                _("Your webhook is subscribed"),
                secret=saved.signing_secret,
                manage_url=manage_url(saved.subscriber),
            )
    return _subscribe_page(email_form, webhook_form)


@blueprint.route("/incidents/<public_id>/follow", methods=["GET", "POST"])
@limiter.shared_limit(SUBSCRIBE_LIMIT, scope="subscribe", methods=["POST"])
def follow(public_id: str):
    incident = find_incident(public_id) if PUBLIC_ID.fullmatch(public_id) else None
    if incident is None:
        abort(404)
    form = FollowForm()
    if form.validate_on_submit():
        try:
            subscriptions.subscribe_email(form.email.data, incident_id=incident.id)
        except InvalidInput as error:
            _field_error(form, error)
        else:
            return _check_inbox()
    status = 422 if form.is_submitted() else 200
    return _private(
        render_template("public/subscribe.html", follow_form=form, incident=incident), status
    )


# ---------------------------------------------------------------- one subscription


@blueprint.route("/subscriptions/<token>", methods=["GET", "POST"])
def subscription(token: str):
    subscriber = _subscriber(token)
    form = ComponentsForm()
    form.components.choices = _component_choices()
    if not form.is_submitted():
        form.components.data = [c.public_id for c in subscriber.components]
    elif form.validate():
        try:
            subscriptions.update_components(token, form.components.data)
        except InvalidInput as error:
            _field_error(form, error)
        else:
            return _manage_page(subscriber, form, saved=True)
    return _manage_page(subscriber, form, status=422 if form.errors else 200)


@blueprint.route("/subscriptions/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str):
    subscriber = _subscriber(token)
    if request.method == "POST":  # CSRFProtect has checked the form's token
        subscriptions.confirm(token)
        return _notice("confirmed", _("You are subscribed"), manage_url=_manage_url(token))
    if subscriber.is_active:
        return _notice("confirmed", _("You are subscribed"), manage_url=_manage_url(token))
    return _notice(
        "confirm",
        _("Confirm your subscription"),
        action=url_for(".confirm", token=token),
        button=_("Confirm my subscription"),
        target=subscriber.target,
    )


@blueprint.route("/subscriptions/<token>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail providers POST here without a form; the token is the key
def unsubscribe(token: str):
    subscriber = _subscriber(token)
    if request.method == "POST":
        subscriptions.unsubscribe(token)
        return _notice("unsubscribed", _("You are unsubscribed"), manage_url=_manage_url(token))
    return _notice(
        "unsubscribe",
        _("Unsubscribe"),
        action=url_for(".unsubscribe", token=token),
        button=_("Unsubscribe"),
        target=subscriber.target,
    )


# ---------------------------------------------------------------- helpers


def _subscribe_forms() -> tuple[EmailForm, WebhookForm]:
    email_form, webhook_form = EmailForm(prefix="email"), WebhookForm(prefix="webhook")
    choices = _component_choices()
    email_form.components.choices = webhook_form.components.choices = choices
    return email_form, webhook_form


def _subscribe_page(email_form: EmailForm, webhook_form: WebhookForm) -> Response:
    status = 422 if email_form.errors or webhook_form.errors else 200
    groups, ungrouped, _all = _catalogue()
    page = render_template(
        "public/subscribe.html",
        email_form=email_form,
        webhook_form=webhook_form,
        groups=groups,
        ungrouped=ungrouped,
    )
    return _private(page, status)


def _manage_page(subscriber, form: ComponentsForm, saved: bool = False, status: int = 200):
    groups, ungrouped, _all = _catalogue()
    page = render_template(
        "public/subscription.html",
        subscriber=subscriber,
        incident=subscriptions.followed_incident(subscriber),
        form=form,
        button=ButtonForm(),
        groups=groups,
        ungrouped=ungrouped,
        saved=saved,
    )
    return _private(page, status)


def _check_inbox() -> Response:
    """The same answer for a new, a pending and an already subscribed address."""
    return _notice("check_inbox", _("Check your inbox"))


def _notice(kind: str, title: str, **context) -> Response:
    page = render_template(
        "public/subscribe_done.html", kind=kind, title=title, form=ButtonForm(), **context
    )
    return _private(page)


def _subscriber(token: str):
    try:
        return subscriptions.by_token(token)
    except NotFound:
        abort(404)


def _manage_url(token: str) -> str:
    return url_for(".subscription", token=token)


def _catalogue():
    """(groups, ungrouped, all components), loaded once per request."""
    if "subscription_catalogue" not in g:
        g.subscription_catalogue = load_components()
    return g.subscription_catalogue


def _component_choices() -> list[str]:
    # Plain values: the template draws the labelled checkboxes itself.
    return [c.public_id for c in _catalogue()[2]]


def _field_error(form: FlaskForm, error: InvalidInput) -> None:
    field = getattr(form, error.field or "", None)
    if field is None:
        field = next(iter(form))
    field.errors = [*field.errors, error.message]


def _private(page: str, status: int = 200) -> Response:
    """Never cached, never indexed, never leaking the token in a Referer."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
