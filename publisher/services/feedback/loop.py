"""Closing the loop: when an incident is resolved, everyone linked to it who consented gets
one message: an email to their address, or a reply on the network they wrote from.

The text is always the incident's published, approved resolving update (its email or
social variant), so what goes out has passed the composer's review and approval rules;
nothing is sent for an incident resolved without a published resolving update until one
is published. One message per person and incident: a unique (incident, recipient) row.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...channels import (
    AmbiguousChannelError,
    ChannelError,
    OutgoingUpdate,
    PermanentChannelError,
    TransientChannelError,
    channel_class,
)
from ...extensions import db
from ...models import (
    CLOSED_STATUSES,
    Audience,
    FeedbackReport,
    Incident,
    IncidentStatus,
    LoopNotice,
    Message,
    MessageState,
    SendState,
    utcnow,
)
from .. import channel_config
from ..outgoing import base_update, in_reader_language
from ..outlets.lengths import measure
from ..outlets.variants import derive
from .impact import counted

log = logging.getLogger(__name__)

RESOLVING = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
SEND_LIMIT = 500  # notices one run sends; the rest wait for the next minute


def resolving_update(incident_id: int) -> Message | None:
    return db.session.scalar(
        select(Message)
        .where(
            Message.incident_id == incident_id,
            Message.audience == Audience.PUBLIC,
            Message.state == MessageState.PUBLISHED,
            Message.incident_status.in_([str(s) for s in RESOLVING]),
            Message.superseded_at.is_(None),
        )
        .order_by(Message.published_at.desc(), Message.id.desc())
        .limit(1)
    )


def close_loops() -> list[int]:
    """Write one notice per consenting reporter of each resolved incident; returns their ids."""
    made: list[int] = []
    for incident_id in _resolved_with_waiting_reporters():
        message = resolving_update(incident_id)
        if message is None:
            continue  # resolved without a published resolving update: wait for one
        made += _notices_for(incident_id, message)
    return made


def recipient_key(report: FeedbackReport) -> str | None:
    if report.contact_email:
        return f"email:{report.contact_email}"
    if report.channel_id and report.reply_ref and report.contact:
        return f"{report.source}:{report.contact.casefold()}"
    return None


def _resolved_with_waiting_reporters() -> list[int]:
    noticed = select(LoopNotice.report_id).where(LoopNotice.report_id.is_not(None))
    return list(
        db.session.scalars(
            select(FeedbackReport.incident_id)
            .join(Incident, Incident.id == FeedbackReport.incident_id)
            .where(
                Incident.status.in_([str(s) for s in CLOSED_STATUSES]),
                FeedbackReport.wants_updates.is_(True),
                FeedbackReport.erased_at.is_(None),
                FeedbackReport.id.not_in(noticed),
            )
            .distinct()
        )
    )


def _notices_for(incident_id: int, message: Message) -> list[int]:
    reports = db.session.scalars(
        select(FeedbackReport)
        .where(
            *counted(incident_id),
            FeedbackReport.wants_updates.is_(True),
            FeedbackReport.erased_at.is_(None),
        )
        .order_by(FeedbackReport.id)
    ).all()
    taken = set(
        db.session.scalars(
            select(LoopNotice.recipient_key).where(LoopNotice.incident_id == incident_id)
        )
    )
    made = []
    for report in reports:
        key = recipient_key(report)
        if key is None or key in taken:
            continue
        taken.add(key)
        notice = _add_notice(incident_id, report, message, key)
        if notice is not None:
            made.append(notice)
    return made


def _add_notice(incident_id, report, message, key) -> int | None:
    """One row per person; a concurrent sweep that got there first wins quietly."""
    notice = LoopNotice(
        incident_id=incident_id,
        report_id=report.id,
        message_id=message.id,
        recipient_key=key,
        next_attempt_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(notice)
    except IntegrityError:
        return None
    db.session.commit()
    return notice.id


def send_due(now: datetime) -> int:
    """Send the notices that are due, email on one SMTP connection; returns how many went."""
    ids = db.session.scalars(
        select(LoopNotice.id)
        .where(LoopNotice.state == SendState.PENDING, LoopNotice.next_attempt_at <= now)
        .order_by(LoopNotice.id)
        .limit(SEND_LIMIT)
    ).all()
    adapters = _Adapters()
    try:
        return sum(send_notice(notice_id, adapters) for notice_id in ids)
    finally:
        adapters.close()


class _Adapters:
    """Channel adapters opened once per run (one SMTP connection for every email)."""

    def __init__(self) -> None:
        self._open: dict[object, object] = {}

    def email(self):
        if "email" not in self._open:
            self._open["email"] = channel_class("email")({}, {}, **channel_config.adapter_options())
        return self._open["email"]

    def for_channel(self, channel):
        if channel is None:
            raise PermanentChannelError("the outlet this reporter wrote through was removed")
        if channel.id not in self._open:
            self._open[channel.id] = channel_config.adapter_for(channel)
        return self._open[channel.id]

    def close(self) -> None:
        for adapter in self._open.values():
            close = getattr(adapter, "close", None)
            if close:
                close()


def send_notice(notice_id: int, adapters: _Adapters | None = None) -> bool:
    """Send one notice; records sent, a later retry, or failed (never resent blindly)."""
    notice = db.session.get(LoopNotice, notice_id)
    if notice is None or notice.state != SendState.PENDING:
        return False
    report = notice.report
    if report is None or report.erased_at is not None or not report.wants_updates:
        return _record(notice, SendState.FAILED, "the reporter's data was erased")
    notice.attempts += 1
    own = adapters is None
    adapters = adapters or _Adapters()
    try:
        receipt = _send(notice, report, adapters)
    except TransientChannelError as error:
        if notice.attempts >= MAX_ATTEMPTS:
            return _record(notice, SendState.FAILED, error.message)
        notice.next_attempt_at = utcnow() + RETRY_SCHEDULE[notice.attempts - 1]
        return _record(notice, SendState.PENDING, error.message)
    except AmbiguousChannelError as error:
        return _record(notice, SendState.FAILED, "may have been sent: " + error.message)
    except ChannelError as error:
        return _record(notice, SendState.FAILED, error.message)
    finally:
        if own:
            adapters.close()
    notice.external_id, notice.sent_at = receipt.external_id, utcnow()
    return _record(notice, SendState.SENT, None)


def _send(notice: LoopNotice, report: FeedbackReport, adapters: _Adapters):
    message = db.session.get(Message, notice.message_id)
    update = base_update(message)
    update = replace(update, variants=_with_derived(update, message))
    if report.contact_email:
        adapter = adapters.email()
        update = _to_reader(update, report.contact_email, report.locale)
    else:
        adapter = adapters.for_channel(report.channel)
        update = replace(
            update,
            reply_to=report.reply_ref,
            variants=_addressed(update.variants, str(report.source), report.contact),
        )
    return adapter.send(adapter.render(update), f"loop-{notice.id}")


def _to_reader(update: OutgoingUpdate, address: str, locale: str | None) -> OutgoingUpdate:
    """The email to one reporter, written in their language as a subscriber's is."""
    update = replace(update, recipient={"kind": "email", "address": address, "locale": locale})
    return in_reader_language(update, locale)


def _with_derived(update, message: Message) -> dict[str, str]:
    """The approved variants; for an outlet the update was not written for, the text derived
    from its approved body by the composer's own rules."""
    derived = derive(
        message.body,
        update.incident_url,
        update.incident_name,
        update.page_name,
        update.status_label,
    )
    return {**derived, **{k: v for k, v in update.variants.items() if v}}


def _addressed(variants: dict[str, str], network: str, handle: str | None) -> dict[str, str]:
    """Mastodon notifies only those named in a post: name the reporter when it still fits."""
    text = variants.get(network, "")
    if network == "mastodon" and handle:
        named = f"@{handle.lstrip('@')} {text}"
        if measure(network, named).ok:
            text = named
    return {**variants, network: text}


def _record(notice: LoopNotice, state: SendState, error: str | None) -> bool:
    notice.state, notice.last_error = state, error[:2000] if error else None
    db.session.commit()
    if error:
        log.warning("feedback notice %s: %s", notice.id, error)
    return state == SendState.SENT
