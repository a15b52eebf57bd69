"""Digests to the responders: on the cadence the incident manager sets, at once when reports
surge, and by hand from the inbox. Sent through the Slack, email and webhook adapters.

The surge rule: reports linked to an incident in the last SURGE_WINDOW (5 minutes) are at
least SURGE_MINIMUM (5) and at least SURGE_FACTOR (3) times the count of the 5 minutes
before; after a surge digest, the next one waits SURGE_QUIET (15 minutes). The periodic
job checks every minute, so "at once" means within a minute.
A cadence digest goes out only when there are reports the responders have not seen yet.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...channels import (
    ChannelError,
    OutgoingUpdate,
    TransientChannelError,
)
from ...extensions import db
from ...models import (
    CLOSED_STATUSES,
    Channel,
    ChannelKind,
    DigestReason,
    DigestTarget,
    FeedbackDigest,
    FeedbackReport,
    Incident,
    IncidentFeedback,
    IncidentKind,
    SendState,
    TriageState,
    User,
    bump_page_version,
    utcnow,
)
from .. import audit, channel_config
from ..errors import InvalidInput, NotFound
from ..markdown import markdown_to_text, render_markdown
from ..permissions import Can, require
from ..public.views import INCIDENT_STATUS_LABELS
from .impact import counted, customer_impact
from .labels import region_label, source_label
from .text import public_webhook_url
from .triage import mark_forwarded

log = logging.getLogger(__name__)

CADENCES = (15, 30, 60, 120, 240)
SURGE_WINDOW = timedelta(minutes=5)
SURGE_FACTOR = 3
SURGE_MINIMUM = 5
SURGE_QUIET = timedelta(minutes=15)
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)
DIGEST_QUOTES = 5
QUOTE_MAX = 280
DIGEST_KINDS = (ChannelKind.SLACK, ChannelKind.EMAIL, ChannelKind.WEBHOOK)
# Digest ids to send once the transaction that made them commits (read by jobs/feedback.py).
DIGESTS_KEY = "herald_feedback_digests"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


# ---------------------------------------------------------------- settings


def settings_for(incident: Incident) -> IncidentFeedback:
    settings = db.session.get(IncidentFeedback, incident.id)
    if settings is None:
        settings = IncidentFeedback(incident_id=incident.id)
        db.session.add(settings)
    return settings


def update_settings(
    actor: User, incident: Incident, every_minutes: int | None, show_public_count: bool
) -> IncidentFeedback:
    """The incident manager sets the digest cadence and whether the page shows the count."""
    require(actor, Can.SET_FEEDBACK_CADENCE, incident)
    if every_minutes is not None and every_minutes not in CADENCES:
        raise InvalidInput(_("Choose a cadence from the list."), field="cadence")
    settings = settings_for(incident)
    before = audit.fields(settings, "digest_every_minutes", "show_public_count")
    settings.digest_every_minutes, settings.show_public_count = every_minutes, show_public_count
    audit.record(
        actor,
        "feedback.settings",
        incident,
        incident=incident,
        before=before,
        after=audit.fields(settings, "digest_every_minutes", "show_public_count"),
    )
    bump_page_version(db.session)  # the public count appears or disappears
    db.session.commit()
    return settings


# ---------------------------------------------------------------- targets


def targets() -> list[DigestTarget]:
    return list(db.session.scalars(select(DigestTarget).order_by(DigestTarget.id)))


def candidate_channels() -> list[Channel]:
    taken = select(DigestTarget.channel_id)
    return list(
        db.session.scalars(
            select(Channel)
            .where(Channel.kind.in_(DIGEST_KINDS), Channel.id.not_in(taken))
            .order_by(Channel.name)
        )
    )


@dataclass(frozen=True)
class NewTarget:
    target: DigestTarget
    signing_secret: str | None  # shown once, for a webhook target


def add_target(actor: User, channel_id: int, webhook_url: str | None = None) -> NewTarget:
    require(actor, Can.ADMINISTER)
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.kind not in DIGEST_KINDS:
        raise InvalidInput(_("Choose a Slack, email or webhook outlet."), field="channel")
    if db.session.scalar(select(DigestTarget).where(DigestTarget.channel_id == channel_id)):
        raise InvalidInput(_("That outlet already receives digests."), field="channel")
    target = DigestTarget(channel_id=channel.id)
    if channel.kind == ChannelKind.EMAIL and not (channel.settings or {}).get("recipients"):
        raise InvalidInput(
            _("Digests go to an email outlet with a fixed list of internal recipients."),
            field="channel",
        )
    if channel.kind == ChannelKind.WEBHOOK:
        target.webhook_url = public_webhook_url(webhook_url)
        # Standard Webhooks: whsec_ + standard base64 (url-safe base64 fails to sign).
        target.signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    db.session.add(target)
    audit.record(actor, "feedback.digest_target_added", channel, after={"channel": channel.name})
    db.session.commit()
    return NewTarget(target, target.signing_secret)


def remove_target(actor: User, target_id: int) -> None:
    require(actor, Can.ADMINISTER)
    target = db.session.get(DigestTarget, target_id)
    if target is None:
        raise NotFound(_("There is no such digest target."))
    audit.record(actor, "feedback.digest_target_removed", target.channel)
    db.session.delete(target)
    db.session.commit()


# ---------------------------------------------------------------- what is due


def run_due(now: datetime) -> list[int]:
    """Make the surge and cadence digests that are due (one commit); returns their ids."""
    made: list[int] = []
    for incident in _incidents_with_reports(now):
        settings = settings_for(incident)
        if surging(incident.id, now) and _quiet_since_surge(settings, now):
            settings.last_surge_at = now
            made += _make_digests(incident, DigestReason.SURGE, settings, now)
        elif _cadence_due(settings, now) and _unseen(incident.id):
            made += _make_digests(incident, DigestReason.CADENCE, settings, now)
    db.session.commit()
    return made


def surging(incident_id: int, now: datetime) -> bool:
    recent = _count_between(incident_id, now - SURGE_WINDOW, now)
    before = _count_between(incident_id, now - 2 * SURGE_WINDOW, now - SURGE_WINDOW)
    return recent >= SURGE_MINIMUM and recent >= SURGE_FACTOR * before


def _count_between(incident_id: int, start: datetime, end: datetime) -> int:
    return db.session.scalar(
        select(func.count(FeedbackReport.id)).where(
            *counted(incident_id),
            FeedbackReport.created_at > start,
            FeedbackReport.created_at <= end,
        )
    )


def _quiet_since_surge(settings: IncidentFeedback, now: datetime) -> bool:
    return settings.last_surge_at is None or now - settings.last_surge_at >= SURGE_QUIET


def _cadence_due(settings: IncidentFeedback, now: datetime) -> bool:
    every = settings.digest_every_minutes
    if not every:
        return False
    return settings.last_digest_at is None or now - settings.last_digest_at >= timedelta(
        minutes=every
    )


def _unseen(incident_id: int) -> int:
    """Linked reports no digest has carried yet."""
    return db.session.scalar(
        select(func.count(FeedbackReport.id)).where(
            *counted(incident_id), FeedbackReport.state == TriageState.LINKED
        )
    )


def _incidents_with_reports(now: datetime) -> list[Incident]:
    linked = select(FeedbackReport.incident_id).where(FeedbackReport.incident_id.is_not(None))
    return list(
        db.session.scalars(
            select(Incident).where(
                Incident.kind == IncidentKind.INCIDENT,
                Incident.status.not_in([str(s) for s in CLOSED_STATUSES]),
                Incident.id.in_(linked),
            )
        )
    )


# ---------------------------------------------------------------- making digests


def forward_now(actor: User, report_ids: list[int]) -> int:
    """Forward reports from the inbox to the responders at once; returns digests made."""
    require(actor, Can.TRIAGE_FEEDBACK)
    if not targets():
        raise InvalidInput(
            _("No outlet receives digests yet; an admin adds one under Feedback, Digest targets."),
            field="reports",
        )
    reports = mark_forwarded(actor, report_ids)
    body = _forwarded_body(reports)
    subject = _("Customer reports forwarded from the inbox (%(n)d)", n=len(reports))
    incident_ids = {r.incident_id for r in reports}
    incident_id = incident_ids.pop() if len(incident_ids) == 1 else None
    made = [
        _digest(target, incident_id, DigestReason.FORWARDED, subject, body, len(reports))
        for target in targets()
    ]
    audit.record(actor, "feedback.forwarded", reports[0], after={"reports": report_ids})
    db.session.commit()
    return len(made)


def _make_digests(
    incident: Incident, reason: DigestReason, settings: IncidentFeedback, now: datetime
) -> list[int]:
    chosen = targets()
    if not chosen:
        log.info("feedback digest for incident %s not sent: no digest target", incident.id)
        return []
    fresh = db.session.scalars(
        select(FeedbackReport.id).where(
            *counted(incident.id), FeedbackReport.state == TriageState.LINKED
        )
    ).all()
    subject, body = _incident_body(incident, reason, len(fresh))
    total = customer_impact(incident.id).total
    digests = [_digest(t, incident.id, reason, subject, body, total, len(fresh)) for t in chosen]
    if fresh:
        mark_forwarded(None, list(fresh))
    settings.last_digest_at = now
    return [d.id for d in digests]


def _digest(target, incident_id, reason, subject, body, count, new=None) -> FeedbackDigest:
    digest = FeedbackDigest(
        incident_id=incident_id,
        target_id=target.id,
        reason=reason,
        report_count=count,
        new_reports=count if new is None else new,
        subject=subject[:300],
        body=body,
    )
    db.session.add(digest)
    db.session.flush()
    db.session.info.setdefault(DIGESTS_KEY, set()).add(digest.id)
    return digest


def _incident_body(incident: Incident, reason: DigestReason, fresh: int) -> tuple[str, str]:
    impact = customer_impact(incident.id)
    title = (
        _("Reports are surging: %(name)s", name=incident.name)
        if reason == DigestReason.SURGE
        else _("Customer feedback digest: %(name)s", name=incident.name)
    )
    lines = [
        _(
            "%(total)d customers report being affected (%(new)d new).",
            total=impact.total,
            new=fresh,
        ),
        _("%(n)d asked to be told when it is fixed.", n=impact.want_updates),
        "",
        _breakdown(_("By component"), impact.by_component),
        _breakdown(_("By source"), [(source_label(s), n) for s, n in impact.by_source]),
        _breakdown(_("By region"), [(region_label(r), n) for r, n in impact.by_region]),
        "",
        _("Latest:"),
        *_quotes(_latest(incident.id)),
        "",
        _("Responder view: %(url)s", url=responder_url(incident)),
    ]
    return title, "\n".join(lines)


def _forwarded_body(reports: list[FeedbackReport]) -> str:
    return "\n".join(
        [_("Forwarded by support from the feedback inbox:"), "", *_quotes(reports[:20])]
    )


def _breakdown(label: str, pairs: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{escape_markdown(name or _('unknown'))} {n}" for name, n in pairs[:6])
    return f"{label}: {shown or '-'}  "


def _latest(incident_id: int) -> list[FeedbackReport]:
    return list(
        db.session.scalars(
            select(FeedbackReport)
            .where(*counted(incident_id), FeedbackReport.body != "")
            .order_by(FeedbackReport.id.desc())
            .limit(DIGEST_QUOTES)
        )
    )


def _quotes(reports: list[FeedbackReport]) -> list[str]:
    """Each quote as one escaped Markdown list item: customer text never becomes markup."""
    items = []
    for report in reports:
        text = " ".join((report.body or "").split())
        if len(text) > QUOTE_MAX:
            text = text[: QUOTE_MAX - 1] + "…"
        where = report.component.name if report.component else _("no component")
        quote = escape_markdown(text) or "-"
        items.append(f"- “{quote}” ({source_label(report.source)}, {escape_markdown(where)})")
    return items or [_("(no comments)")]


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def responder_url(incident: Incident) -> str:
    return f"{current_app.config['BASE_URL']}/console/incidents/{incident.public_id}/feedback"


# ---------------------------------------------------------------- sending


def send_digest(digest_id: int) -> bool:
    """Send one digest through its target's adapter; records sent, retry or failed."""
    digest = db.session.get(FeedbackDigest, digest_id)
    if digest is None or digest.state != SendState.PENDING:
        return False
    target = db.session.get(DigestTarget, digest.target_id) if digest.target_id else None
    if target is None:
        return _record(digest, SendState.FAILED, "the digest target was removed")
    digest.attempts += 1
    try:
        adapter = channel_config.adapter_for(target.channel)
        try:
            adapter.send(adapter.render(_outgoing(digest, target)), f"digest-{digest.id}")
        finally:
            close = getattr(adapter, "close", None)
            if close:
                close()
    except TransientChannelError as error:
        state = SendState.FAILED if digest.attempts >= MAX_ATTEMPTS else SendState.PENDING
        return _record(digest, state, error.message)
    except ChannelError as error:
        return _record(digest, SendState.FAILED, error.message)
    digest.sent_at = utcnow()
    return _record(digest, SendState.SENT, None)


def retry_due(now: datetime) -> list[int]:
    """Digests still pending after a transient failure (or a lost job), to send again."""
    return list(
        db.session.scalars(
            select(FeedbackDigest.id).where(
                FeedbackDigest.state == SendState.PENDING,
                FeedbackDigest.created_at <= now - RETRY_AFTER,
            )
        )
    )


def _record(digest: FeedbackDigest, state: SendState, error: str | None) -> bool:
    digest.state, digest.last_error = state, (error or None) and error[:2000]
    db.session.commit()
    if error:
        log.warning("feedback digest %s: %s", digest.id, error)
    return state == SendState.SENT


def _outgoing(digest: FeedbackDigest, target: DigestTarget) -> OutgoingUpdate:
    incident = db.session.get(Incident, digest.incident_id) if digest.incident_id else None
    base = current_app.config["BASE_URL"]
    html = str(render_markdown(digest.body))
    text = markdown_to_text(digest.body)
    recipient = {}
    if target.channel.kind == ChannelKind.WEBHOOK:
        recipient = {
            "kind": "webhook",
            "address": target.webhook_url,
            "signing_secret": target.signing_secret,
        }
    status = incident.status if incident else ""
    return OutgoingUpdate(
        message_id=f"digest-{digest.id}",
        incident_id=incident.public_id if incident else "",
        incident_name=digest.subject,
        incident_url=responder_url(incident) if incident else f"{base}/console/feedback",
        incident_status=status,
        status_label=str(INCIDENT_STATUS_LABELS.get(status, status)) or _("Feedback"),
        impact=str(incident.impact) if incident else "none",
        audience="internal",
        body_markdown=digest.body,
        body_html=html,
        body_text=text,
        variants={
            "slack": text,
            "email_subject": digest.subject,
            # The plain-text part: the words, not the escaped Markdown (no "\\<b\\>").
            "email_body": text,
            "email_body_html": html,
        },
        published_at=digest.created_at,
        page_name=current_app.config["PAGE_NAME"],
        page_url=base,
        recipient=recipient,
    )
