"""Who may reach which route. Every view declares a rule; one with none is refused.

Console routes use the signed-in session; /api/v1 routes use a bearer token.
The rule here is the coarse gate by global role; services check the finer
rules (roster membership, ownership) again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..models import Role, User
from ..services import tokens

log = logging.getLogger(__name__)

ANYONE = frozenset({"anyone"})
STAFF = frozenset(Role)
# Blueprints whose every route is public; other blueprints declare per view.
PUBLIC_BLUEPRINTS = {"public"}
TOKEN_BLUEPRINTS = {"api_v1"}


def allow(*roles: Role | Iterable[Role]) -> Callable:
    """Decorate a view with the global roles that may use it."""
    flat = frozenset(r for item in roles for r in ((item,) if isinstance(item, str) else item))

    def decorator(view: Callable) -> Callable:
        view.access_rule = flat
        return view

    return decorator


def public(view: Callable) -> Callable:
    view.access_rule = ANYONE
    return view


def rule_for(endpoint: str) -> frozenset | None:
    view = current_app.view_functions.get(endpoint)
    rule = getattr(view, "access_rule", None)
    if rule is None and (endpoint == "static" or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS):
        return ANYONE
    return rule


def init_app(app: Flask) -> None:
    app.before_request(enforce)


def enforce():
    if request.endpoint is None:
        return None  # 404 or 405 follows
    rule = rule_for(request.endpoint)
    if rule is None:
        log.error("route %s has no access rule; refused", request.endpoint)
        abort(403)
    if rule is ANYONE:
        return None
    user = _acting_user()
    if user is None:
        return _unauthenticated()
    if user.role not in rule:
        abort(403)
    return None


def acting_user() -> User:
    """The user a protected view acts as (session or token)."""
    return g.acting_user


def _acting_user() -> User | None:
    if request.blueprint in TOKEN_BLUEPRINTS:
        user = _token_user()
    else:
        user = current_user if current_user.is_authenticated else None
        user = getattr(user, "account", None)
    g.acting_user = user
    return user


def _token_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return tokens.authenticate(value.strip())


def _unauthenticated():
    if request.blueprint in TOKEN_BLUEPRINTS:
        response = jsonify(
            error=_("Send a valid API token: Authorization: Bearer <token>."), status=401
        )
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="herald"'
        return response
    return redirect(url_for("console.login", next=request.full_path))
