"""Public subscriptions: email (double opt-in), webhooks, per-component choice, unsubscribe.

Nothing here tells a visitor whether an address is already subscribed: asking
again for a known address changes nothing they could see, and at most re-sends
the confirmation mail (once per RESEND_AFTER, counted from confirmation_sent_at; at
once for an address coming back after unsubscribing). The confirmation mail is sent by
the queue after the commit (the jobs layer listens for CONFIRMATIONS_KEY), so a
rolled-back request never mails anyone.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..channels.email import UnsafeHeaderError, check_address, compose
from ..channels.net import check_url
from ..extensions import db
from ..models import Component, Incident, Subscriber, SubscriberKind, utcnow
from ..models.subscriber import new_token
from . import delivery
from .channel_config import smtp_transport
from .errors import InvalidInput, NotFound

CONFIRMATIONS_KEY = "herald_confirmation_mails"
RESEND_AFTER = timedelta(minutes=15)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_ADDRESS = 254
SECRET_BYTES = 32


@dataclass(frozen=True)
class WebhookSubscription:
    subscriber: Subscriber
    # Shown once on the result page; the manage link too (a webhook has no inbox).
    signing_secret: str


def subscribe_email(
    address: str, component_ids: Iterable[str] = (), incident_id: int | None = None
) -> None:
    """Ask for updates at an address (all, some components, or one incident); commits, then
    the queue mails the confirmation. New and known addresses get the same outcome."""
    address = normalize_address(address)
    components = _components(component_ids)
    try:
        _record_request(address, components, incident_id)
        db.session.commit()
    except IntegrityError:  # the same address, saved by a parallel request: same answer
        db.session.rollback()


def subscribe_webhook(url: str, component_ids: Iterable[str] = ()) -> WebhookSubscription:
    """Send updates to a public webhook URL; commits and returns the one-time signing secret."""
    url = _safe_webhook_url(url)
    components = _components(component_ids)
    subscriber = db.session.scalar(
        select(Subscriber).where(
            Subscriber.kind == SubscriberKind.WEBHOOK, Subscriber.target == url
        )
    )
    if subscriber is not None and subscriber.unsubscribed_at is None:
        raise InvalidInput(
            _("This URL is already subscribed. Use its management link to change it."),
            field="url",
        )
    if subscriber is None:
        subscriber = Subscriber(kind=SubscriberKind.WEBHOOK, target=url)
        db.session.add(subscriber)
    subscriber.locale = request_locale()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    subscriber.token, subscriber.signing_secret = new_token(), secret
    # Confirmed at once: a URL cannot follow a confirmation link, so no double opt-in is
    # possible. The secret and the manage link are shown once, to the person who saved it.
    subscriber.confirmed_at, subscriber.unsubscribed_at = utcnow(), None
    _choose(subscriber, components, None)
    try:
        db.session.commit()
    except IntegrityError:  # saved by a parallel request a moment ago
        db.session.rollback()
        raise InvalidInput(_("This URL is already subscribed."), field="url") from None
    return WebhookSubscription(subscriber, secret)


def confirm(token: str) -> Subscriber:
    """The owner of the address pressed the confirm button (also re-subscribes); commits."""
    subscriber = by_token(token)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = utcnow()
    subscriber.unsubscribed_at = None
    subscriber.locale = request_locale()  # the owner of the address reads this language
    db.session.commit()
    return subscriber


def update_components(token: str, component_ids: Iterable[str]) -> Subscriber:
    """Change which components a subscription covers (none: all); commits."""
    subscriber = by_token(token)
    subscriber.components = _components(component_ids)
    subscriber.locale = request_locale()
    db.session.commit()
    return subscriber


def unsubscribe(token: str) -> Subscriber:
    """Stop every further message, retries of earlier ones included (idempotent; RFC 8058
    one-click lands here); commits."""
    subscriber = by_token(token)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = utcnow()
    delivery.cancel_for_subscriber(subscriber.id, delivery.UNSUBSCRIBED)
    db.session.commit()
    return subscriber


def by_token(token: str) -> Subscriber:
    """The subscriber a manage link names, or NotFound."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise NotFound(_("We could not find that subscription."))
    found = db.session.scalar(select(Subscriber).where(Subscriber.token == token))
    if found is None or not hmac.compare_digest(found.token.encode(), token.encode()):
        raise NotFound(_("We could not find that subscription."))
    return found


def request_locale() -> str | None:
    """The language this request is served in: emails to the person asking are written in it."""
    locale = get_locale()
    return str(locale) if locale is not None else None


def followed_incident(subscriber: Subscriber) -> Incident | None:
    if subscriber.incident_id is None:
        return None
    return db.session.get(Incident, subscriber.incident_id)


def normalize_address(address: str | None) -> str:
    """The address trimmed and lower-cased, or InvalidInput (also for header injection)."""
    text = (address or "").strip().lower()
    try:
        check_address(text)
    except UnsafeHeaderError:
        raise InvalidInput(
            _("Enter an email address like name@example.com."), field="email"
        ) from None
    local, _at, domain = text.rpartition("@")
    if len(text) > MAX_ADDRESS or len(local) > 64 or "." not in domain.strip("."):
        raise InvalidInput(_("Enter an email address like name@example.com."), field="email")
    return text


# ---------------------------------------------------------------- the confirmation mail


def send_confirmation(subscriber_id: int) -> bool:
    """Mail the confirmation link (the queue calls this after commit). Raises ChannelError."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.kind != SubscriberKind.EMAIL:
        return False
    transport = smtp_transport()
    try:
        with force_locale(subscriber.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = confirmation_message(subscriber)
        transport.send(message, [subscriber.target])
    finally:
        transport.close()
    return True


def confirmation_message(subscriber: Subscriber):
    config = current_app.config
    incident = followed_incident(subscriber)
    context = {
        "page_name": config["PAGE_NAME"],
        "page_url": config["BASE_URL"],
        "confirm_url": f"{config['BASE_URL']}/subscriptions/{subscriber.token}/confirm",
        "follows": incident.name if incident is not None else None,
        "subject": _("Confirm your subscription to %(page)s", page=config["PAGE_NAME"]),
    }
    return compose(
        subject=context["subject"],
        text=render_template("email/confirm.txt", **context),
        html=render_template("email/confirm.html", **context),
        sender=config["SMTP"]["sender"],
        sender_name=config["PAGE_NAME"],
        to=subscriber.target,
    )


# ---------------------------------------------------------------- helpers


def _record_request(address: str, components: list[Component], incident_id) -> None:
    subscriber = db.session.scalar(
        select(Subscriber).where(
            Subscriber.kind == SubscriberKind.EMAIL, Subscriber.target == address
        )
    )
    if subscriber is None:
        subscriber = Subscriber(kind=SubscriberKind.EMAIL, target=address, locale=request_locale())
        db.session.add(subscriber)
        _choose(subscriber, components, incident_id)
        _mail_confirmation_after_commit(subscriber)
    else:
        _ask_again(subscriber, components, incident_id)


def _ask_again(subscriber: Subscriber, components: list[Component], incident_id) -> None:
    """A known address asked again: an inactive request takes the new choice (nobody is told
    anything yet); an active subscription changes only through its own manage link."""
    due = _confirmation_due(subscriber)
    if not subscriber.is_active:
        _choose(subscriber, components, incident_id)
        subscriber.confirmed_at = subscriber.unsubscribed_at = None
        subscriber.locale = request_locale()
    if due:
        _mail_confirmation_after_commit(subscriber)


def _confirmation_due(subscriber: Subscriber) -> bool:
    """Coming back after unsubscribing always needs a new confirmation; otherwise the last one
    is re-sent at most once per RESEND_AFTER (updated_at is no guide: any change moves it)."""
    if subscriber.unsubscribed_at is not None:
        return True
    sent = subscriber.confirmation_sent_at
    return sent is None or sent <= utcnow() - RESEND_AFTER


def _choose(subscriber: Subscriber, components: list[Component], incident_id) -> None:
    subscriber.incident_id = incident_id
    subscriber.components = [] if incident_id is not None else components


def _mail_confirmation_after_commit(subscriber: Subscriber) -> None:
    subscriber.confirmation_sent_at = utcnow()
    db.session.flush()
    db.session.info.setdefault(CONFIRMATIONS_KEY, set()).add(subscriber.id)


def _components(component_ids: Iterable[str]) -> list[Component]:
    wanted = sorted({str(c) for c in component_ids or () if c})
    if not wanted:
        return []
    found = db.session.scalars(select(Component).where(Component.public_id.in_(wanted))).all()
    if len(found) != len(wanted):
        raise InvalidInput(_("Choose components from the list."), field="components")
    return list(found)


def _safe_webhook_url(url: str | None) -> str:
    url = (url or "").strip()
    try:
        check_url(url, allow_loopback=current_app.config.get("CHANNELS_ALLOW_LOOPBACK", False))
    except ValueError:  # UnsafeURLError, or a malformed port
        raise InvalidInput(
            _(
                "Enter a public http:// or https:// URL, without a user name or password. "
                "Addresses on private, local or internal networks are refused."
            ),
            field="url",
        ) from None
    return url
