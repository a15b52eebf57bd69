"""Demo data: a realistic status page with 90 days of history and a team to sign in with."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    ActionPriority,
    ActionStatus,
    Channel,
    ChannelKind,
    Component,
    ComponentGroup,
    ComponentStatus,
    FollowUpAction,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
    MessageTemplate,
    Postmortem,
    PostmortemReviewEvent,
    PostmortemState,
    ReviewAction,
    Role,
)
from . import composer, users
from .postmortems import content_hash
from .updates import apply_incident_status, record_published_update

GROUPS = {
    "Core platform": ["API", "Web application", "Authentication", "Database"],
    "Delivery": ["Email notifications", "Webhooks", "Push notifications", "CDN"],
    "Integrations": ["Slack app", "GitHub sync", "Billing", "Search"],
}
DESCRIPTIONS = {
    "API": "REST and GraphQL endpoints at api.example.com",
    "Web application": "The dashboard at app.example.com",
    "CDN": "Static assets and file downloads",
}
TEAM = [
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("im@example.com", "Ian Manager", Role.INCIDENT_MANAGER),
    ("comms@example.com", "Cora Comms", Role.COMMS_MANAGER),
    ("social@example.com", "Sol Social", Role.SOCIAL_LEAD),
    ("support@example.com", "Sam Support", Role.SUPPORT_AGENT),
    ("oncall@example.com", "Remy Responder", Role.RESPONDER),
]
PAST_INCIDENTS = [
    ("Elevated API error rates", Impact.MAJOR, ["API"], ComponentStatus.PARTIAL_OUTAGE),
    (
        "Delayed email notifications",
        Impact.MINOR,
        ["Email notifications"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    (
        "Login failures for SSO users",
        Impact.MAJOR,
        ["Authentication"],
        ComponentStatus.PARTIAL_OUTAGE,
    ),
    (
        "Dashboard unavailable",
        Impact.CRITICAL,
        ["Web application", "API"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        "Webhook deliveries delayed",
        Impact.MINOR,
        ["Webhooks"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    ("Slow search results", Impact.MINOR, ["Search"], ComponentStatus.DEGRADED_PERFORMANCE),
    (
        "Database failover",
        Impact.CRITICAL,
        ["Database", "API", "Web application"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    ("Billing page errors", Impact.MINOR, ["Billing"], ComponentStatus.PARTIAL_OUTAGE),
    ("CDN cache misses in Europe", Impact.MINOR, ["CDN"], ComponentStatus.DEGRADED_PERFORMANCE),
    ("GitHub sync stalled", Impact.MAJOR, ["GitHub sync"], ComponentStatus.PARTIAL_OUTAGE),
    (
        "Push notifications not delivered",
        Impact.MAJOR,
        ["Push notifications"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        "Intermittent timeouts on the API",
        Impact.MINOR,
        ["API"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    ("Slack app unresponsive", Impact.MAJOR, ["Slack app"], ComponentStatus.MAJOR_OUTAGE),
    (
        "Password reset emails delayed",
        Impact.MINOR,
        ["Email notifications", "Authentication"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    (
        "Increased latency for file downloads",
        Impact.NONE,
        ["CDN"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
]
ACTIVE_UPDATES = [
    (
        IncidentStatus.INVESTIGATING,
        "We are investigating reports of **failed webhook deliveries** "
        "and delays in email notifications. Some customers may not receive alerts.",
    ),
    (
        IncidentStatus.IDENTIFIED,
        "We have identified a saturated message queue in one region as "
        "the cause. Webhooks are being retried; no events have been lost.",
    ),
    (
        IncidentStatus.MONITORING,
        "A fix has been deployed and the backlog is draining. Deliveries "
        "are catching up; we are monitoring the results.",
    ),
]


TEMPLATES = [
    (
        "Investigating",
        IncidentStatus.INVESTIGATING,
        "We are investigating reports of problems with {affected_components}. We will post an "
        "update by {next_update_time}.",
    ),
    (
        "Investigating: degraded performance",
        IncidentStatus.INVESTIGATING,
        "{affected_components} is slower than usual. We are investigating and will post an "
        "update by {next_update_time}.",
    ),
    (
        "Identified",
        IncidentStatus.IDENTIFIED,
        "We have identified the cause of {incident_name} and are working on a fix.",
    ),
    (
        "Monitoring",
        IncidentStatus.MONITORING,
        "A fix has been deployed. We are monitoring {affected_components} to make sure it holds.",
    ),
    (
        "Resolved",
        IncidentStatus.RESOLVED,
        "{incident_name} has been resolved. {affected_components} is working normally again. "
        "We are sorry for the trouble.",
    ),
    (
        "Scheduled maintenance reminder",
        MaintenanceStatus.SCHEDULED,
        "Reminder: {incident_name} is scheduled. Details: {incident_url}",
    ),
]
DEMO_CHANNELS = [
    (ChannelKind.X, "@example_status", ["public"]),
    (ChannelKind.MASTODON, "@status@example.social", ["public"]),
    (ChannelKind.BLUESKY, "status.example.com", ["public"]),
    (ChannelKind.SLACK, "#incidents (internal)", ["internal"]),
    (ChannelKind.EMAIL, "Email subscribers", ["public"]),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    password: str


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Component))


def load_demo(now: datetime, seed: int = 7) -> list[DemoAccount]:
    """Fill an empty database with the demo page; returns the team's sign-in details."""
    rng = random.Random(seed)
    components = _components(now)
    past = _past_incidents(components, now, rng)
    active = _active_incident(components, now)
    _scheduled_maintenance(components, now)
    _templates_and_channels()
    db.session.commit()
    accounts = _team()
    _update_in_review(active)
    _published_postmortem(past[POSTMORTEM_INCIDENT], now)
    return accounts


def _components(now: datetime) -> dict[str, Component]:
    created = now - timedelta(days=120)
    result = {}
    for g_pos, (group_name, names) in enumerate(GROUPS.items()):
        group = ComponentGroup(name=group_name, position=g_pos, created_at=created)
        db.session.add(group)
        for pos, name in enumerate(names):
            result[name] = Component(
                name=name,
                description=DESCRIPTIONS.get(name),
                position=g_pos * 10 + pos,
                group=group,
                created_at=created,
                updated_at=created,
            )
            db.session.add(result[name])
    db.session.flush()
    return result


def _past_incidents(
    components: dict[str, Component], now: datetime, rng: random.Random
) -> dict[str, Incident]:
    start, past = now - timedelta(days=88), {}
    for index, (name, impact, affected, status) in enumerate(PAST_INCIDENTS):
        began = start + timedelta(days=index * 5.6 + rng.uniform(0, 2), hours=rng.uniform(0, 20))
        duration = timedelta(minutes=rng.randint(25, 300))
        affected_components = [components[c] for c in affected]
        past[name] = _resolved_incident(name, impact, affected_components, status, began, duration)
    return past


def _resolved_incident(name, impact, affected, status, began, duration) -> Incident:
    incident = Incident(
        name=name,
        impact=impact,
        status=IncidentStatus.INVESTIGATING,
        started_at=began,
        created_at=began,
        components=affected,
    )
    db.session.add(incident)
    db.session.flush()
    down = {c: status for c in affected}
    up = {c: ComponentStatus.OPERATIONAL for c in affected}
    steps = [
        (IncidentStatus.INVESTIGATING, f"We are investigating an issue: {name.lower()}.", down),
        (
            IncidentStatus.IDENTIFIED,
            "The cause has been identified and a fix is being worked on.",
            None,
        ),
        (
            IncidentStatus.MONITORING,
            "A fix has been implemented; we are monitoring the results.",
            up,
        ),
        (IncidentStatus.RESOLVED, "This incident has been resolved.", None),
    ]
    for n, (step_status, body, statuses) in enumerate(steps):
        at = began + duration * n / (len(steps) - 1)
        record_published_update(incident, step_status, body, at, statuses)
    return incident


def _active_incident(components: dict[str, Component], now: datetime) -> Incident:
    affected = [components["Webhooks"], components["Email notifications"]]
    began = now - timedelta(minutes=95)
    incident = Incident(
        name="Delayed webhook and email deliveries",
        impact=Impact.MAJOR,
        status=IncidentStatus.INVESTIGATING,
        started_at=began,
        created_at=began,
        components=affected,
    )
    db.session.add(incident)
    db.session.flush()
    statuses = [
        {
            affected[0]: ComponentStatus.PARTIAL_OUTAGE,
            affected[1]: ComponentStatus.DEGRADED_PERFORMANCE,
        },
        None,
        {affected[0]: ComponentStatus.DEGRADED_PERFORMANCE},
    ]
    for n, ((status, body), changes) in enumerate(zip(ACTIVE_UPDATES, statuses, strict=True)):
        record_published_update(incident, status, body, began + timedelta(minutes=35 * n), changes)
    incident.next_update_due_at = now + timedelta(minutes=25)
    return incident


def _scheduled_maintenance(components: dict[str, Component], now: datetime) -> None:
    begins = (now + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    maintenance = Incident(
        kind=IncidentKind.MAINTENANCE,
        name="Database upgrade",
        impact=Impact.MAINTENANCE,
        status=MaintenanceStatus.SCHEDULED,
        started_at=begins,
        created_at=now,
        scheduled_for=begins,
        scheduled_until=begins + timedelta(hours=2),
        components=[components["Database"], components["API"]],
    )
    db.session.add(maintenance)
    db.session.flush()
    body = (
        "We will upgrade our primary database. The API may respond slowly for a few "
        "minutes during the switch-over; no downtime is expected."
    )
    record_published_update(maintenance, MaintenanceStatus.SCHEDULED, body, now)


def _templates_and_channels() -> None:
    for name, status, body in TEMPLATES:
        db.session.add(MessageTemplate(name=name, incident_status=status, body=body))
    # Channels are configured but off: the demo must never post to a real network.
    for kind, name, audiences in DEMO_CHANNELS:
        db.session.add(Channel(kind=kind, name=name, audiences=audiences, enabled=False))


def _update_in_review(incident: Incident) -> None:
    """An update by the comms manager, waiting for the incident manager's approval."""
    comms = users.find_by_email("comms@example.com")
    message = composer.create_draft(
        comms,
        incident,
        incident_status=IncidentStatus.RESOLVED,
        body="Webhook and email deliveries are back to normal and the backlog has been "
        "delivered. We are sorry for the delay.",
        component_statuses={c: ComponentStatus.OPERATIONAL for c in incident.components},
    )
    composer.submit(comms, message, comment="Ready once the queue is empty.")


def _team() -> list[DemoAccount]:
    accounts = []
    for email, name, role in TEAM:
        if users.find_by_email(email) is not None:
            continue
        password = secrets.token_urlsafe(12)
        users.create_user(email, name, role, password)
        accounts.append(DemoAccount(email, name, role, password))
    return accounts


# ---------------------------------------------------------------- a published postmortem

POSTMORTEM_INCIDENT = "Database failover"
POSTMORTEM_PUBLIC = """\
### What happened

Our primary database stopped answering. The automatic failover to the standby took
longer than it should have, and while it ran the API and the web application could not
read or save data.

### Why it happened

The standby had fallen behind the primary, so promoting it had to wait for it to catch
up. We did not alert on that lag, so nobody saw it coming.

### What we are changing

- We now alert when the standby falls more than 30 seconds behind.
- We rehearse a failover every quarter.
- We raised the API's connection limits so it recovers at once after a failover.

We are sorry for the disruption."""
POSTMORTEM_INTERNAL = """\
# Postmortem: Database failover

### Summary

The primary database host lost its storage volume. Patroni promoted the standby, but
replication lag was 14 minutes, so the promotion waited for the WAL replay to finish.

### Root cause

A long-running analytics query on the standby held back WAL replay (hot_standby_feedback
on). Lag was graphed but never alerted on.

### What went well

- The first public update went out within 6 minutes.
- No data was lost.

### What went wrong

- No alert on replication lag.
- The API's connection pool stayed exhausted for 20 minutes after the failover.

### Actions

See the follow-up actions below."""
# (title, owner, due in days from now, priority, status, why it will not be done)
DEMO_ACTIONS = [
    ("Alert when the standby lags more than 30 seconds", "oncall@example.com", -6,
     ActionPriority.HIGH, ActionStatus.OPEN, None),
    ("Rehearse a database failover every quarter", "im@example.com", 21,
     ActionPriority.MEDIUM, ActionStatus.IN_PROGRESS, None),
    ("Raise the API's connection pool limits", "oncall@example.com", -35,
     ActionPriority.HIGH, ActionStatus.DONE, None),
    ("Move the primary database to a larger instance", "admin@example.com", -20,
     ActionPriority.LOW, ActionStatus.WONT_DO,
     "A larger instance would not have prevented the failover and doubles the cost."),
]  # fmt: skip


def _published_postmortem(incident: Incident, now: datetime) -> None:
    """The incident's reviewed and published postmortem with follow-up actions (one overdue,
    one in progress, one done, one won't do), as if written in the days after it."""
    ian, ada, cora = (
        _person(e) for e in ("im@example.com", "admin@example.com", "comms@example.com")
    )
    start = incident.resolved_at + timedelta(days=1)
    published_at = start + timedelta(days=2)
    postmortem = Postmortem(
        incident=incident,
        internal_body=POSTMORTEM_INTERNAL,
        public_body=POSTMORTEM_PUBLIC,
        author_id=ian.id,
        last_editor_id=ian.id,
        state=PostmortemState.PUBLISHED,
        approved_by_id=ada.id,
        published_body=POSTMORTEM_PUBLIC,
        published_at=published_at,
        public_updated_at=published_at,
        published_by_id=cora.id,
        created_at=start,
        updated_at=published_at,
    )
    digest = postmortem.approved_hash = content_hash(postmortem)
    trail = [(ian, ReviewAction.CREATED, 0), (ian, ReviewAction.SUBMITTED, 1),
             (ada, ReviewAction.APPROVED, 1.8), (cora, ReviewAction.PUBLISHED, 2)]  # fmt: skip
    for actor, action, days in trail:
        at = start + timedelta(days=days)
        event = PostmortemReviewEvent(actor_id=actor.id, action=action, content_hash=digest, at=at)
        postmortem.review_events.append(event)
    postmortem.actions = [_demo_action(row, ian, start, now) for row in DEMO_ACTIONS]
    db.session.add(postmortem)
    apply_incident_status(incident, IncidentStatus.POSTMORTEM, published_at)
    db.session.commit()


def _demo_action(row: tuple, creator, start: datetime, now: datetime) -> FollowUpAction:
    title, email, due_in, priority, status, reason = row
    due_on = (now + timedelta(days=due_in)).date()
    closed = status in (ActionStatus.DONE, ActionStatus.WONT_DO)
    return FollowUpAction(
        title=title,
        owner_id=_person(email).id,
        due_on=due_on,
        priority=priority,
        status=status,
        status_reason=reason,
        closed_at=start + timedelta(days=10) if closed else None,
        created_by_id=creator.id,
        # Past due dates count as reminded: the demo mails nobody.
        reminded_for=due_on if due_on <= now.date() else None,
        created_at=start,
        updated_at=start,
    )


def _person(email: str):
    return users.find_by_email(email)
