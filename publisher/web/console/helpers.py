"""Small helpers shared by console views."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_wtf import FlaskForm

from ...extensions import db
from ...services.errors import ServiceError


def form_failed(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's refusal on the field it names, or as a message."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        db.session.rollback()  # a refused action leaves nothing half-done in the session
        field.errors = [*list(field.errors or []), error.message]
    else:
        refused(error)


def refused(error: ServiceError) -> None:
    """Undo what the refused action began and tell the user why."""
    db.session.rollback()
    flash(error.message, "error")


def back(default_endpoint: str, **values):
    """Redirect to a safe local `next` target, else to a default page."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default_endpoint, **values))


def flash_errors(form: FlaskForm) -> None:
    for field in form:
        for message in field.errors or []:
            flash(f"{field.label.text}: {message}", "error")
