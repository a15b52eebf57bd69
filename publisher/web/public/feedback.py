"""Customer feedback on the status page: "are you affected?" on each active incident and
"report a problem" when nothing is declared. No account, no JavaScript needed.

Both forms are rate-limited per client address and carry a honeypot field:
a bot that fills it gets the same thank-you page as everyone and nothing is
stored. The "are you affected?" form is part of the shared, cached incident
page, so it cannot carry a per-session CSRF token; it is exempt (it changes no
account and no session, and is rate-limited), while /report, a page of its
own, keeps CSRF protection.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField

from ...extensions import csrf, limiter
from ...services.errors import InvalidInput, NotFound
from ...services.feedback import intake, public_count
from ...services.feedback.text import MAX_BODY, regions
from ...services.public import find_incident, load_components
from . import blueprint
from .pages import PUBLIC_ID

log = logging.getLogger(__name__)


def _limit() -> str:
    return current_app.config["FEEDBACK_RATE_LIMIT"]


class ReportForm(FlaskForm):
    component = SelectField(_l("Component"), choices=[], validate_choice=False)
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    body = TextAreaField(_l("What happened?"))
    email = EmailField(_l("Email address"))
    wants_updates = BooleanField(_l("Email me once when this is fixed"))
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by bots.
    website = StringField(_l("Leave this field empty"))


class AffectedForm(ReportForm):
    class Meta:
        csrf = False


@blueprint.context_processor
def _feedback_helpers() -> dict:
    return {
        "feedback_regions": regions,
        "affected_count": public_count,
        "feedback_max_body": MAX_BODY,
    }


@blueprint.route("/incidents/<public_id>/affected", methods=["GET", "POST"])
@csrf.exempt  # posted from the shared, cached incident page (see the module docstring)
@limiter.shared_limit(_limit, scope="feedback", methods=["POST"])
def affected(public_id: str):
    incident = find_incident(public_id) if PUBLIC_ID.fullmatch(public_id) else None
    if incident is None or not incident.is_active or incident.is_maintenance:
        abort(404)
    form = AffectedForm()
    if request.method == "POST":
        answer = request.form.get("answer")
        if answer in ("yes", "no"):
            try:
                intake.report_affected(public_id, answer == "yes", _report(form))
            except NotFound:
                abort(404)
            except InvalidInput as error:
                _field_error(form, error)
            else:
                return _thanks(incident)
        else:
            form.body.errors = [*form.body.errors, _l("Choose yes or no.")]
    return _page("affected", form, incident=incident)


@blueprint.route("/report", methods=["GET", "POST"])
@limiter.shared_limit(_limit, scope="feedback", methods=["POST"])
def report_problem():
    form = ReportForm()
    if form.is_submitted() and not form.validate():  # only the CSRF token can fail here
        form.body.errors = [_l("The form expired; send it again.")]
    elif form.is_submitted():
        try:
            intake.report_problem(_report(form))
        except InvalidInput as error:
            _field_error(form, error)
        else:
            return _thanks(None)
    return _page("problem", form, components=load_components()[2])


def _report(form: ReportForm) -> intake.PublicReport:
    return intake.PublicReport(
        body=form.body.data or "",
        component=form.component.data or None,
        region=form.region.data or None,
        email=form.email.data or None,
        wants_updates=bool(form.wants_updates.data),
        honeypot=form.website.data or "",
        locale=str(get_locale()),  # the language the page was shown in
    )


def _field_error(form: ReportForm, error: InvalidInput) -> None:
    log.info("feedback report refused: %s (%s)", error.message, error.field)
    field = getattr(form, error.field or "", None) or form.body
    field.errors = [*field.errors, error.message]


def _thanks(incident):
    """The same answer for every accepted report, spam included."""
    return _private(render_template("public/report.html", mode="thanks", incident=incident))


def _page(mode: str, form: ReportForm, **context):
    status = 422 if any(f.errors for f in form) else 200
    page = render_template("public/report.html", mode=mode, form=form, **context)
    return _private(page, status)


def _private(page: str, status: int = 200):
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
