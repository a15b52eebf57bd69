"""Error pages and JSON errors: a clear message, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..extensions import db, login_manager
from ..services.errors import ServiceError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path.endswith(".json")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)


def handle_http_error(error: HTTPException):
    if error.code and error.code >= 500:
        log.error("HTTP %s on %s", error.code, request.path)
    else:
        log.info("HTTP %s on %s: %s", error.code, request.path, error.description)
    message = _error_message(error.code or 500)
    if wants_json():
        return jsonify(error=message, status=error.code), error.code
    return render_template("public/error.html", code=error.code, message=message), error.code


def handle_service_error(error: ServiceError):
    db.session.rollback()  # nothing half-done by a refused action may be committed later
    log.info("refused %s: %s", request.path, error.message)
    if wants_json():
        body = {"error": error.message, "status": error.status_code}
        if error.field is not None:
            body["field"] = error.field
        return jsonify(body), error.status_code
    page = render_template("public/error.html", code=error.status_code, message=error.message)
    return page, error.status_code


def handle_database_error(error: DBAPIError):
    """The database refused or could not be reached: nothing was done; say so, with a 503."""
    if not error.connection_invalidated and not _is_outage(error):
        return handle_unexpected(error)
    log.error("database unreachable on %s %s: %s", request.method, request.path, error.orig)
    try:
        db.session.rollback()
    except DBAPIError:
        log.debug("rollback failed on a broken connection", exc_info=True)
    message = _("The database cannot be reached just now, so nothing was changed. "
                "Please try again in a minute.")  # fmt: skip
    if wants_json():
        response = jsonify(error=message, status=503)
    else:
        # The page must not ask the database who is signed in (Flask-Login's context).
        g._login_user = login_manager.anonymous_user()
        response = render_template("public/error.html", code=503, message=message)
    return response, 503, {"Retry-After": "30"}


def _is_outage(error: DBAPIError) -> bool:
    """Connection-level failures (server gone, refused, file unreadable), not bad SQL."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig).lower()
    return not any(bug in text for bug in ("syntax error", "no such column", "no such table"))


def handle_unexpected(error: Exception):
    log.exception("unexpected error on %s", request.path)
    message = _error_message(500)
    if wants_json():
        return jsonify(error=message, status=500), 500
    return render_template("public/error.html", code=500, message=message), 500


def _error_message(code: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        403: _("You are not allowed to do that."),
        404: _("We could not find that page."),
        405: _("That method is not allowed here."),
        409: _("That conflicts with a change someone else just made."),
        413: _("That request is too large."),
        422: _("Some of what was sent is not valid."),
        429: _("Too many requests. Please wait a moment and try again."),
    }
    return messages.get(code, _("Something went wrong on our side. Please try again."))
