"""Statuspage API v2 shapes built from the public read model's views (pure, no queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ...services.public import (
    AffectedComponent,
    ComponentView,
    GroupView,
    IncidentView,
    OverallStatus,
    PageInfo,
    UpdateView,
)


@dataclass(frozen=True)
class Context:
    """What every object refers back to: the page."""

    page: PageInfo

    def shortlink(self, incident: IncidentView) -> str:
        return f"{self.page.url.rstrip('/')}/incidents/{incident.public_id}"


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as Statuspage writes them."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_json(page: PageInfo) -> dict:
    return {
        "id": page.id,
        "name": page.name,
        "url": page.url,
        "time_zone": page.time_zone,
        "updated_at": timestamp(page.updated_at),
    }


def status_json(status: OverallStatus) -> dict:
    return {"indicator": str(status.indicator), "description": status.description}


# ---------------------------------------------------------------- components


def components_json(
    groups: list[GroupView], ungrouped: list[ComponentView], context: Context
) -> list[dict]:
    """Groups and ungrouped components by position; each group is followed by its members."""
    top = sorted([*groups, *ungrouped], key=lambda item: (item.position, _is_component(item)))
    result = []
    for item in top:
        if isinstance(item, GroupView):
            result.append(group_json(item, context))
            result.extend(component_json(c, context) for c in item.components)
        else:
            result.append(component_json(item, context))
    return result


def component_json(component: ComponentView, context: Context) -> dict:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": str(component.status),
        "created_at": timestamp(component.created_at),
        "updated_at": timestamp(component.updated_at),
        "position": component.position,
        "description": component.description,
        "showcase": component.showcase,
        "start_date": _local_date(component.start_date, context),
        "group_id": component.group_public_id,
        "page_id": context.page.id,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_json(group: GroupView, context: Context) -> dict:
    """A group is a component with `group: true` and its members' ids."""
    return {
        "id": group.public_id,
        "name": group.name,
        "status": str(group.status),
        "created_at": timestamp(group.created_at),
        "updated_at": timestamp(group.updated_at),
        "position": group.position,
        "description": group.description,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": context.page.id,
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.public_id for c in group.components],
    }


def _is_component(item: GroupView | ComponentView) -> bool:
    return isinstance(item, ComponentView)


def _local_date(value: datetime | None, context: Context) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(context.page.time_zone)).date().isoformat()


# ---------------------------------------------------------------- incidents


def incident_json(incident: IncidentView, context: Context) -> dict:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": timestamp(incident.created_at),
        "updated_at": timestamp(incident.updated_at),
        "monitoring_at": timestamp(incident.monitoring_at),
        "resolved_at": timestamp(incident.resolved_at),
        "impact": str(incident.impact),
        "shortlink": context.shortlink(incident),
        "started_at": timestamp(incident.started_at),
        "page_id": context.page.id,
        "incident_updates": [update_json(u, incident.public_id) for u in incident.updates],
        "components": [component_json(c, context) for c in incident.components],
    }


def maintenance_json(maintenance: IncidentView, context: Context) -> dict:
    return {
        **incident_json(maintenance, context),
        "scheduled_for": timestamp(maintenance.scheduled_for),
        "scheduled_until": timestamp(maintenance.scheduled_until),
    }


def update_json(update: UpdateView, incident_id: str) -> dict:
    """One public update; Statuspage sends `affected_components: null` when none changed."""
    affected = [affected_json(a) for a in update.affected_components]
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": incident_id,
        "created_at": timestamp(update.created_at),
        "updated_at": timestamp(update.updated_at),
        "display_at": timestamp(update.display_at),
        "affected_components": affected or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def affected_json(affected: AffectedComponent) -> dict:
    old = affected.old_status
    return {
        "code": affected.code,
        "name": affected.name,
        "old_status": str(old) if old is not None else None,
        "new_status": str(affected.new_status),
    }
