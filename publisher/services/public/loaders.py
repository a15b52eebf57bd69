"""The public read model: what visitors may see, loaded in a fixed number of queries.

Every public output (HTML, JSON API v2, feeds, calendar, badges) renders from
these views, so they agree with each other and never show drafts or internal
messages. Nothing here commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import subqueryload

from ...extensions import db
from ...models import (
    PAGE_STATE_ID,
    Audience,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    Impact,
    Incident,
    IncidentKind,
    MaintenanceStatus,
    Message,
    MessageComponentChange,
    MessageState,
    PageState,
    Postmortem,
    incident_component,
)
from ..uptime import Transition, component_runs, uptime_window
from .views import (
    ACTIVE_INCIDENT_STATUSES,
    ACTIVE_MAINTENANCE_STATUSES,
    COMPONENT_INDICATOR,
    INDICATOR_DESCRIPTIONS,
    INDICATOR_ORDER,
    AffectedComponent,
    ComponentView,
    GroupView,
    HistoryDay,
    HistoryMonth,
    IncidentView,
    OverallStatus,
    PageInfo,
    PostmortemView,
    Summary,
    UpdateView,
)

INLINE_IDS = 10_000  # incidents whose related rows load by a list of their ids (load_incidents)

# ---------------------------------------------------------------- loaders


def page_state() -> PageState:
    """One query; the version keys every public cache."""
    return db.session.get(PageState, PAGE_STATE_ID, populate_existing=True)


def page_info(state: PageState | None = None) -> PageInfo:
    state = state or page_state()
    config = current_app.config
    return PageInfo(
        id=state.page_id,
        name=config["PAGE_NAME"],
        url=config["BASE_URL"],
        time_zone=config["PAGE_TIME_ZONE"],
        updated_at=state.updated_at,
        version=state.version,
    )


def page_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PAGE_TIME_ZONE"])


def load_components(
    with_uptime: bool = False, now: datetime | None = None
) -> tuple[list[GroupView], list[ComponentView], list[ComponentView]]:
    """(groups, ungrouped components, all components), ordered by position: 2-4 queries."""
    groups = db.session.scalars(select(ComponentGroup).order_by(ComponentGroup.position)).all()
    rows = db.session.scalars(select(Component).order_by(Component.position, Component.id)).all()
    groups_by_id = {g.id: g for g in groups}
    views = [_component_view(c, groups_by_id.get(c.group_id)) for c in rows]
    if with_uptime:
        _attach_uptime(views, now)
    return _group(groups, views), [v for v in views if v.group_public_id is None], views


def load_summary(now: datetime, with_uptime: bool = False) -> Summary:
    """Everything `/` and `/api/v2/summary.json` show (`/` adds the uptime bars)."""
    state = page_state()
    groups, ungrouped, components = load_components(with_uptime, now)
    incidents = load_incidents(_unresolved_incidents())
    active = load_incidents(_maintenance_in(ACTIVE_MAINTENANCE_STATUSES))
    upcoming = load_incidents(_maintenance_in([MaintenanceStatus.SCHEDULED]), newest_first=False)
    return Summary(
        page=page_info(state),
        status=overall_status(
            [c.status for c in components], [i.impact for i in incidents], bool(active)
        ),
        groups=groups,
        ungrouped=ungrouped,
        components=components,
        incidents=incidents,
        active_maintenance=active,
        upcoming_maintenance=upcoming,
    )


def load_incidents(
    query: Select | None = None, limit: int | None = None, newest_first: bool = True
) -> list[IncidentView]:
    """Incidents (or maintenance) with their public updates: 5 queries whatever the count.

    Related rows load by the list of the incidents' ids, a plan PostgreSQL gets right even
    before it has statistics (a subquery there became a nested loop over every update after
    a bulk load: seconds at 100,000 incidents). Beyond INLINE_IDS incidents they load
    through a subquery of the same query instead, so a page of thousands of incidents still
    costs no more queries than a page of ten.
    """
    query = query if query is not None else select(Incident)
    order = Incident.started_at.desc() if newest_first else Incident.scheduled_for.asc()
    query = query.order_by(order, Incident.id.desc())
    if limit is not None:
        query = query.limit(limit)
    incidents = db.session.scalars(
        query.options(subqueryload(Incident.components).joinedload(Component.group))
    ).all()
    if not incidents:
        return []
    ids = (
        [incident.id for incident in incidents]
        if len(incidents) <= INLINE_IDS
        else _id_subquery(query, limited=limit is not None)
    )
    updates, postmortems = _public_updates(ids), _published_postmortems(ids)
    return [_incident_view(i, updates.get(i.id, []), postmortems.get(i.id)) for i in incidents]


def _id_subquery(query: Select, limited: bool):
    """The ids `query` selects, for `IN (...)`: its order only matters under a LIMIT."""
    ids = query.with_only_columns(Incident.id)
    return (ids if limited else ids.order_by(None)).scalar_subquery()


def find_incident(public_id: str) -> IncidentView | None:
    found = load_incidents(select(Incident).where(Incident.public_id == public_id))
    return found[0] if found else None


def find_component(public_id: str) -> ComponentView | None:
    component = db.session.scalar(select(Component).where(Component.public_id == public_id))
    return _component_view(component, component.group) if component else None


def incidents_query(kind: IncidentKind | None = None) -> Select:
    query = select(Incident)
    return query if kind is None else query.where(Incident.kind == kind)


def incidents_for_component(component_id: int) -> Select:
    return select(Incident).where(
        Incident.id.in_(
            select(incident_component.c.incident_id).where(
                incident_component.c.component_id == component_id
            )
        )
    )


def upcoming_maintenance_query() -> Select:
    return _maintenance_in([MaintenanceStatus.SCHEDULED])


def active_maintenance_query() -> Select:
    return _maintenance_in(ACTIVE_MAINTENANCE_STATUSES)


def maintenance_calendar_query(since: datetime) -> Select:
    """Scheduled and running maintenance, and what completed after `since`."""
    return select(Incident).where(
        Incident.kind == IncidentKind.MAINTENANCE,
        or_(Incident.status != MaintenanceStatus.COMPLETED, Incident.resolved_at >= since),
    )


def unresolved_incidents_query() -> Select:
    return _unresolved_incidents()


def load_recent_days(now: datetime, days: int) -> list[HistoryDay]:
    """The last `days` local days, newest first, each with the incidents that began then."""
    zone = page_zone()
    today = now.astimezone(zone).date()
    start = _local_midnight(today - timedelta(days=days - 1), zone)
    incidents = load_incidents(_incidents_between(start, now + timedelta(days=1)))
    by_day = defaultdict(list)
    for item in incidents:
        by_day[item.display_at.astimezone(zone).date()].append(item)
    return [HistoryDay(d, by_day.get(d, [])) for d in (today - timedelta(n) for n in range(days))]


def load_history(page: int, months_per_page: int, now: datetime) -> list[HistoryMonth]:
    """Months of history, newest first; page 1 ends with the current month."""
    zone = page_zone()
    newest = _month_start(now.astimezone(zone).date(), -(page - 1) * months_per_page)
    months = [_month_start(newest, -n) for n in range(months_per_page)]
    start = _local_midnight(months[-1], zone)
    end = _local_midnight(_month_start(newest, 1), zone)
    incidents = [i for i in load_incidents(_incidents_between(start, end))]
    by_month = defaultdict(list)
    for item in incidents:
        local = item.display_at.astimezone(zone).date()
        by_month[local.replace(day=1)].append(item)
    return [HistoryMonth(m, by_month.get(m, [])) for m in months]


def oldest_event_at() -> datetime | None:
    """When the oldest incident or maintenance happened (bounds history paging)."""
    return db.session.scalar(select(Incident.started_at).order_by(Incident.started_at).limit(1))


def load_status() -> OverallStatus:
    """The page's overall status alone, as summary.json shows it, in three small queries: no
    updates, no uptime (status.json, the page badge, the page object webhooks carry)."""
    statuses = db.session.scalars(select(Component.status)).all()
    impacts = db.session.scalars(_unresolved_incidents().with_only_columns(Incident.impact))
    active = _maintenance_in(ACTIVE_MAINTENANCE_STATUSES).with_only_columns(Incident.id)
    return overall_status(statuses, list(impacts), db.session.scalar(select(active.exists())))


def overall_status(
    component_statuses: list[str], incident_impacts: list[str], maintenance_active: bool
) -> OverallStatus:
    """Statuspage's indicator: the worst of component states and unresolved impacts."""
    candidates = [Impact.NONE]
    candidates += [COMPONENT_INDICATOR.get(s, Impact.NONE) for s in component_statuses]
    candidates += [Impact(i) for i in incident_impacts if i != Impact.NONE]
    if maintenance_active or ComponentStatus.UNDER_MAINTENANCE in component_statuses:
        candidates.append(Impact.MAINTENANCE)
    indicator = max(candidates, key=INDICATOR_ORDER.index)
    return OverallStatus(indicator, str(INDICATOR_DESCRIPTIONS[indicator]))


# ---------------------------------------------------------------- internals


def _unresolved_incidents() -> Select:
    return select(Incident).where(
        Incident.kind == IncidentKind.INCIDENT, Incident.status.in_(ACTIVE_INCIDENT_STATUSES)
    )


def _maintenance_in(statuses) -> Select:
    return select(Incident).where(
        Incident.kind == IncidentKind.MAINTENANCE, Incident.status.in_(list(statuses))
    )


def _incidents_between(start: datetime, end: datetime) -> Select:
    """Incidents that began, or maintenance scheduled, in [start, end)."""
    is_maintenance = Incident.kind == IncidentKind.MAINTENANCE
    return select(Incident).where(
        or_(
            and_(~is_maintenance, Incident.started_at >= start, Incident.started_at < end),
            and_(is_maintenance, Incident.scheduled_for >= start, Incident.scheduled_for < end),
        )
    )


def _public_updates(incident_ids: list[int] | Select) -> dict[int, list[UpdateView]]:
    messages = db.session.scalars(
        select(Message)
        .where(
            Message.incident_id.in_(incident_ids),
            Message.audience == Audience.PUBLIC,
            Message.state == MessageState.PUBLISHED,
            Message.superseded_at.is_(None),  # an edited update shows its latest revision
        )
        .order_by(Message.published_at.desc(), Message.id.desc())
        .options(
            subqueryload(Message.component_changes).joinedload(MessageComponentChange.component),
            subqueryload(Message.translations),
        )
    ).all()
    result: dict[int, list[UpdateView]] = defaultdict(list)
    for message in messages:
        result[message.incident_id].append(_update_view(message))
    return result


def _published_postmortems(incident_ids: list[int] | Select) -> dict[int, PostmortemView]:
    """The published public text only: the internal version and drafts are never read here."""
    rows = db.session.execute(
        select(
            Postmortem.incident_id,
            Postmortem.published_body,
            Postmortem.published_at,
            Postmortem.public_updated_at,
        ).where(
            Postmortem.incident_id.in_(incident_ids),
            Postmortem.published_at.is_not(None),
            Postmortem.published_body.is_not(None),
        )
    ).all()
    return {
        incident_id: PostmortemView(body, published, updated or published)
        for incident_id, body, published, updated in rows
    }


def _update_view(message: Message) -> UpdateView:
    return UpdateView(
        public_id=message.public_id,
        status=message.incident_status,
        body=message.body,
        created_at=message.published_at,
        updated_at=message.updated_at,
        display_at=message.published_at,
        edited=message.revision_of_id is not None,
        translations={t.locale: t.body for t in message.translations},
        affected_components=[
            AffectedComponent(
                code=change.component.public_id,
                name=change.component.name,
                old_status=change.old_status,
                new_status=change.new_status,
            )
            for change in message.component_changes
        ],
    )


def _incident_view(
    incident: Incident, updates: list[UpdateView], postmortem: PostmortemView | None = None
) -> IncidentView:
    return IncidentView(
        id=incident.id,
        public_id=incident.public_id,
        kind=IncidentKind(incident.kind),
        name=incident.name,
        status=incident.status,
        impact=Impact(incident.impact),
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        started_at=incident.started_at,
        monitoring_at=incident.monitoring_at,
        resolved_at=incident.resolved_at,
        scheduled_for=incident.scheduled_for,
        scheduled_until=incident.scheduled_until,
        components=[_component_view(c, c.group) for c in incident.components],
        updates=updates,
        next_update_due_at=incident.next_update_due_at,
        postmortem=postmortem,
    )


def _component_view(component: Component, group: ComponentGroup | None) -> ComponentView:
    return ComponentView(
        id=component.id,
        public_id=component.public_id,
        name=component.name,
        description=component.description,
        status=ComponentStatus(component.status),
        position=component.position,
        group_public_id=group.public_id if group else None,
        only_show_if_degraded=component.only_show_if_degraded,
        showcase=component.showcase,
        created_at=component.created_at,
        updated_at=component.updated_at,
        start_date=component.start_date,
    )


def _group(groups: list[ComponentGroup], views: list[ComponentView]) -> list[GroupView]:
    members = defaultdict(list)
    for view in views:
        members[view.group_public_id].append(view)
    return [
        GroupView(
            id=g.id,
            public_id=g.public_id,
            name=g.name,
            description=g.description,
            position=g.position,
            created_at=g.created_at,
            updated_at=g.updated_at,
            components=members.get(g.public_id, []),
        )
        for g in groups
    ]


def _attach_uptime(views: list[ComponentView], now: datetime | None) -> None:
    """Two queries for all components: status changes and incidents in the window."""
    now = now or datetime.now(ZoneInfo("UTC"))
    zone, days = page_zone(), current_app.config["UPTIME_DAYS"]
    window = uptime_window(now, days, zone)
    changes = _changes_since(window.start)
    incidents = _incidents_by_component_day(window.start, now, zone)
    for view in (v for v in views if v.showcase):  # only showcased components draw a bar
        view.uptime_runs = component_runs(
            changes.get(view.id, []),
            view.status,
            window,
            since=view.start_date or view.created_at,
            incidents=incidents.get(view.id),
        )


def _changes_since(start: datetime) -> dict[int, list[Transition]]:
    rows = db.session.execute(
        select(
            ComponentStatusChange.component_id,
            ComponentStatusChange.changed_at,
            ComponentStatusChange.from_status,
            ComponentStatusChange.to_status,
        )
        .where(ComponentStatusChange.changed_at >= start)
        .order_by(ComponentStatusChange.changed_at, ComponentStatusChange.id)
    ).all()
    result: dict[int, list[Transition]] = defaultdict(list)
    for component_id, at, before, after in rows:
        result[component_id].append(Transition(at, before, after))
    return result


def _incidents_by_component_day(start: datetime, now: datetime, zone: ZoneInfo):
    """{component id: {local day: [(public id, name)]}} for incidents in the window."""
    rows = db.session.execute(
        select(
            incident_component.c.component_id,
            Incident.public_id,
            Incident.name,
            Incident.started_at,
            Incident.resolved_at,
        )
        .join(Incident, Incident.id == incident_component.c.incident_id)
        .where(
            Incident.kind == IncidentKind.INCIDENT,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
            Incident.started_at <= now,
        )
    ).all()
    result: dict[int, dict[date, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for component_id, public_id, name, started, resolved in rows:
        day = max(started, start).astimezone(zone).date()
        last = (resolved or now).astimezone(zone).date()
        while day <= last:
            result[component_id][day].append((public_id, name))
            day += timedelta(days=1)
    return result


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
