"""What a channel is told about one delivery: the update as plain data (channels see no ORM)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from flask import current_app
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import select

from ..channels import OutgoingUpdate
from ..extensions import db
from ..models import Delivery, DeliveryState, Message, Subscriber
from .markdown import markdown_to_text, render_markdown
from .public.loaders import load_status, page_info
from .public.views import INCIDENT_STATUS_LABELS, ORIGINAL_LOCALE


def manage_url(subscriber: Subscriber) -> str:
    return f"{current_app.config['BASE_URL']}/subscriptions/{subscriber.token}"


def unsubscribe_url(subscriber: Subscriber) -> str:
    """RFC 8058 one-click target: a POST here unsubscribes, no page, no account."""
    return f"{manage_url(subscriber)}/unsubscribe"


def base_update(message: Message) -> OutgoingUpdate:
    """The part of an update that is the same for every delivery of a message."""
    incident = message.incident
    base = current_app.config["BASE_URL"]
    return OutgoingUpdate(
        message_id=message.public_id,
        incident_id=incident.public_id,
        incident_name=incident.name,
        incident_url=f"{base}/incidents/{incident.public_id}",
        incident_status=message.incident_status,
        status_label=str(
            INCIDENT_STATUS_LABELS.get(message.incident_status, message.incident_status)
        ),
        impact=str(incident.impact),
        audience=str(message.audience),
        body_markdown=message.body,
        body_html=str(render_markdown(message.body)),
        body_text=markdown_to_text(message.body),
        variants=_variants(message),
        published_at=message.published_at,
        page_name=current_app.config["PAGE_NAME"],
        page_url=base,
        components=[
            {
                "id": c.component.public_id,
                "name": c.component.name,
                "old_status": c.old_status,
                "new_status": c.new_status,
            }
            for c in message.component_changes
        ],
        translations={t.locale: t.body for t in message.translations},
        **_page_now(),
    )


def _page_now() -> dict[str, str]:
    """The page's id and overall status as status.json shows them at this moment (in
    English, as the JSON API): a webhook's `page` speaks for the whole page, not for the one
    incident it is about."""
    with force_locale(ORIGINAL_LOCALE):
        status = load_status()
    return {
        "page_id": page_info().id,
        "page_indicator": str(status.indicator),
        "page_description": status.description,
    }


def for_delivery(
    base: OutgoingUpdate, delivery: Delivery, subscriber: Subscriber | None
) -> OutgoingUpdate:
    """The base update with what belongs to one delivery: thread, revision, recipient. An
    email is written in the recipient's language, with the update's translation into it; a
    webhook keeps the original text and names the status by its code (like the JSON API)."""
    recipient = _recipient(subscriber)
    update = replace(
        base,
        reply_to=_previous_post(delivery),
        revises=_revised_post(delivery),
        is_correction=delivery.is_correction,
        recipient=recipient,
    )
    if recipient.get("kind") == "email":
        return in_reader_language(update, recipient.get("locale"))
    return update


def _status_label(update: OutgoingUpdate, locale: str) -> str:
    with force_locale(locale):
        return str(INCIDENT_STATUS_LABELS.get(update.incident_status, update.status_label))


def in_reader_language(update: OutgoingUpdate, locale: str | None) -> OutgoingUpdate:
    """An email to one reader: the status in their language and the update's approved
    translation into it when there is one, else the original text marked with its language.
    Without a locale, the update as written (the default language)."""
    if not locale:
        return update
    update = replace(update, status_label=_status_label(update, locale))
    translated = update.translations.get(locale)
    if translated:
        return _translated(update, translated)
    return update if locale == ORIGINAL_LOCALE else _marked_original(update)


def _translated(update: OutgoingUpdate, body: str) -> OutgoingUpdate:
    """The translation instead of the original; the approved subject is in the original
    language, so the subject is built in the reader's (status and incident name)."""
    html, text = _rendered(body)
    variants = {**update.variants, "email_body": body, "email_body_html": html}
    variants.pop("email_subject", None)
    return replace(update, body_markdown=body, body_html=html, body_text=text, variants=variants)


@lru_cache(maxsize=64)
def _rendered(body: str) -> tuple[str, str]:
    """HTML and plain text of a translation, once per text (a fan-out sends it to many)."""
    return str(render_markdown(body)), markdown_to_text(body)


def _marked_original(update: OutgoingUpdate) -> OutgoingUpdate:
    """No translation into the reader's language: the original, marked with its language."""
    html = update.variants.get("email_body_html") or update.body_html
    marked = Markup('<div lang="{lang}">{html}</div>').format(
        lang=ORIGINAL_LOCALE, html=Markup(html)
    )
    return replace(update, variants={**update.variants, "email_body_html": str(marked)})


def _variants(message: Message) -> dict[str, str]:
    """Each outlet's text, plus the email body as HTML so both email parts say the same."""
    texts = {str(v.outlet): v.text for v in message.variants}
    texts["email_body_html"] = str(render_markdown(texts.get("email_body", message.body)))
    return texts


def _previous_post(delivery: Delivery) -> str | None:
    """The external id of this incident's latest earlier post on the same channel."""
    if delivery.subscriber_id is not None:
        return None
    message = delivery.message
    return db.session.scalar(
        select(Delivery.external_id)
        .join(Message, Delivery.message_id == Message.id)
        .where(
            Delivery.channel_id == delivery.channel_id,
            Delivery.subscriber_id.is_(None),
            Delivery.state == DeliveryState.SENT,
            Delivery.external_id.is_not(None),
            Message.incident_id == message.incident_id,
            Message.id != message.id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def _revised_post(delivery: Delivery) -> str | None:
    original = delivery.message.revision_of_id
    if original is None:
        return None
    return db.session.scalar(
        select(Delivery.external_id).where(
            Delivery.message_id == original,
            Delivery.channel_id == delivery.channel_id,
            Delivery.subscriber_id == delivery.subscriber_id,
        )
    )


def _recipient(subscriber: Subscriber | None) -> dict:
    if subscriber is None:
        return {}
    return {
        "kind": str(subscriber.kind),
        "address": subscriber.target,
        "manage_url": manage_url(subscriber),
        "unsubscribe_url": unsubscribe_url(subscriber),
        "signing_secret": subscriber.signing_secret,
        "locale": subscriber.locale,
    }
