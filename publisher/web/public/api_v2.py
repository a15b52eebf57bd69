"""The public JSON API v2, shaped like Atlassian Statuspage's so its clients work unchanged.

Every view is cached by page version, open to any origin (CORS), GET/HEAD only, and
rendered in English whatever the visitor's language.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, jsonify
from flask_babel import force_locale

from ...models import IncidentKind, utcnow
from ...services.public import (
    IncidentView,
    active_maintenance_query,
    incidents_query,
    load_components,
    load_incidents,
    load_status,
    load_summary,
    page_info,
    unresolved_incidents_query,
    upcoming_maintenance_query,
)
from . import blueprint
from .api_v2_serializers import (
    Context,
    components_json,
    incident_json,
    maintenance_json,
    page_json,
    status_json,
)
from .caching import cached_public

PREFIX = "/api/v2"
RECENT_LIMIT = 50  # Statuspage lists "the 50 most recent" incidents and maintenances


def api_route(path: str) -> Callable:
    """Register a cached, English, CORS-open JSON view answering GET and HEAD only."""

    def decorator(view: Callable[[], dict]) -> Callable:
        @wraps(view)
        def render() -> Response:
            with force_locale("en"):
                response = jsonify(view())
            response.headers["Access-Control-Allow-Origin"] = "*"
            return response

        cached = cached_public()(render)
        blueprint.add_url_rule(
            PREFIX + path, view_func=cached, methods=["GET"], provide_automatic_options=False
        )
        return cached

    return decorator


# ---------------------------------------------------------------- routes


@api_route("/summary.json")
def api_v2_summary() -> dict:
    summary = load_summary(utcnow())
    context = Context(summary.page)
    return {
        "page": page_json(summary.page),
        "components": components_json(summary.groups, summary.ungrouped, context),
        "incidents": [incident_json(i, context) for i in summary.incidents],
        "scheduled_maintenances": [
            maintenance_json(m, context) for m in summary.scheduled_maintenances
        ],
        "status": status_json(summary.status),
    }


@api_route("/status.json")
def api_v2_status() -> dict:
    return {"page": page_json(page_info()), "status": status_json(load_status())}


@api_route("/components.json")
def api_v2_components() -> dict:
    groups, ungrouped, _all = load_components()
    context = Context(page_info())
    return {
        "page": page_json(context.page),
        "components": components_json(groups, ungrouped, context),
    }


@api_route("/incidents.json")
def api_v2_incidents() -> dict:
    query = incidents_query(IncidentKind.INCIDENT)
    return _incidents(load_incidents(query, limit=RECENT_LIMIT))


@api_route("/incidents/unresolved.json")
def api_v2_unresolved_incidents() -> dict:
    return _incidents(load_incidents(unresolved_incidents_query()))


@api_route("/scheduled-maintenances.json")
def api_v2_scheduled_maintenances() -> dict:
    query = incidents_query(IncidentKind.MAINTENANCE)
    return _maintenances(load_incidents(query, limit=RECENT_LIMIT))


@api_route("/scheduled-maintenances/upcoming.json")
def api_v2_upcoming_maintenances() -> dict:
    return _maintenances(load_incidents(upcoming_maintenance_query(), newest_first=False))


@api_route("/scheduled-maintenances/active.json")
def api_v2_active_maintenances() -> dict:
    return _maintenances(load_incidents(active_maintenance_query()))


# ---------------------------------------------------------------- helpers


def _context() -> Context:
    return Context(page_info())


def _incidents(incidents: list[IncidentView]) -> dict:
    context = _context()
    return {
        "page": page_json(context.page),
        "incidents": [incident_json(i, context) for i in incidents],
    }


def _maintenances(maintenances: list[IncidentView]) -> dict:
    context = _context()
    return {
        "page": page_json(context.page),
        "scheduled_maintenances": [maintenance_json(m, context) for m in maintenances],
    }
