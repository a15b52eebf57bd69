"""Builders for test data, going through the same services the app uses."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from publisher.extensions import db
from publisher.models import (
    Audience,
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
    Message,
    MessageState,
    bump_page_version,
    incident_component,
    new_public_id,
    utcnow,
)
from publisher.services.updates import record_published_update


class Factory:
    def group(self, name: str = "Core", position: int = 0) -> ComponentGroup:
        group = ComponentGroup(name=name, position=position)
        db.session.add(group)
        db.session.commit()
        return group

    def component(
        self,
        name: str = "API",
        group: ComponentGroup | None = None,
        position: int = 0,
        status: ComponentStatus = ComponentStatus.OPERATIONAL,
        created_at: datetime | None = None,
        **fields,
    ) -> Component:
        created_at = created_at or utcnow() - timedelta(days=120)
        component = Component(
            name=name,
            group=group,
            position=position,
            status=status,
            created_at=created_at,
            updated_at=created_at,
            **fields,
        )
        db.session.add(component)
        db.session.commit()
        return component

    def incident(
        self,
        name: str = "Elevated errors",
        impact: Impact = Impact.MINOR,
        components: list[Component] | None = None,
        started_at: datetime | None = None,
        updates: list[tuple[str, str]] | None = None,
        component_status: ComponentStatus | None = None,
    ) -> Incident:
        """An incident with published public updates [(status, body)], oldest first."""
        started_at = started_at or utcnow() - timedelta(hours=1)
        incident = Incident(
            name=name,
            impact=impact,
            status=IncidentStatus.INVESTIGATING,
            started_at=started_at,
            created_at=started_at,
            components=components or [],
        )
        db.session.add(incident)
        db.session.flush()
        updates = updates or [(IncidentStatus.INVESTIGATING, f"Investigating {name}.")]
        for n, (status, body) in enumerate(updates):
            statuses = None
            if n == 0 and component_status:
                statuses = {c: component_status for c in components or []}
            at = started_at + timedelta(minutes=10 * n)
            record_published_update(incident, status, body, at, statuses)
        db.session.commit()
        return incident

    def maintenance(
        self,
        name: str = "Database upgrade",
        components: list[Component] | None = None,
        scheduled_for: datetime | None = None,
        duration: timedelta = timedelta(hours=2),
        auto_transition: bool = True,
        body: str = "We will upgrade the database.",
    ) -> Incident:
        scheduled_for = scheduled_for or utcnow() + timedelta(days=1)
        item = Incident(
            kind=IncidentKind.MAINTENANCE,
            name=name,
            impact=Impact.MAINTENANCE,
            status=MaintenanceStatus.SCHEDULED,
            started_at=scheduled_for,
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_for + duration,
            auto_transition=auto_transition,
            components=components or [],
        )
        db.session.add(item)
        db.session.flush()
        record_published_update(item, MaintenanceStatus.SCHEDULED, body, utcnow())
        db.session.commit()
        return item

    def draft(
        self,
        incident: Incident,
        body: str = "Secret draft text",
        audience: Audience = Audience.PUBLIC,
        state: MessageState = MessageState.DRAFT,
    ) -> Message:
        """A message that must never be visible to the public."""
        message = Message(
            incident=incident,
            audience=audience,
            state=state,
            incident_status=incident.status,
            body=body,
            published_at=utcnow() if state == MessageState.PUBLISHED else None,
        )
        db.session.add(message)
        db.session.commit()
        return message

    # ------------------------------------------------------------ bulk, for query counts

    def many_components(
        self, count: int, first_position: int = 100, group: ComponentGroup | None = None
    ) -> list[Component]:
        created = utcnow() - timedelta(days=120)
        components = [
            Component(
                name=f"Service {first_position + n}",
                position=first_position + n,
                group=group,
                created_at=created,
                updated_at=created,
            )
            for n in range(count)
        ]
        db.session.add_all(components)
        db.session.commit()
        return components

    def past_incidents(
        self,
        count: int,
        newest_at: datetime | None = None,
        every: timedelta = timedelta(hours=1),
        components: list[Component] | None = None,
    ) -> None:
        """Resolved incidents with one public update each, in three bulk INSERTs."""
        newest_at = newest_at or utcnow() - timedelta(hours=2)
        rows = [_past_incident(newest_at - every * n) for n in range(count)]
        ids = db.session.scalars(
            insert(Incident).returning(Incident.id, sort_by_parameter_order=True), rows
        ).all()
        db.session.execute(
            insert(Message), [_resolution(i, r) for i, r in zip(ids, rows, strict=True)]
        )
        if components:
            links = [
                {"incident_id": i, "component_id": components[n % len(components)].id}
                for n, i in enumerate(ids)
            ]
            db.session.execute(insert(incident_component), links)
        bump_page_version(db.session)  # bulk INSERTs bypass the flush hook
        db.session.commit()


def _past_incident(began: datetime) -> dict:
    return dict(
        public_id=new_public_id(),
        kind=IncidentKind.INCIDENT,
        name=f"Past incident {began:%F %T}",
        impact=Impact.MINOR,
        status=IncidentStatus.RESOLVED,
        started_at=began,
        created_at=began,
        updated_at=began,
        resolved_at=began + timedelta(minutes=30),
        auto_transition=False,
    )


def _resolution(incident_id: int, incident: dict) -> dict:
    at = incident["resolved_at"]
    return dict(
        public_id=new_public_id(),
        incident_id=incident_id,
        audience=Audience.PUBLIC,
        state=MessageState.PUBLISHED,
        incident_status=IncidentStatus.RESOLVED,
        body="Resolved.",
        published_at=at,
        created_at=at,
        updated_at=at,
    )
