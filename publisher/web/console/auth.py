"""Sign-in and sign-out."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...extensions import limiter
from ...services import users
from .. import sessions
from ..access import STAFF, acting_user, allow, public
from . import blueprint
from .forms import ConfirmForm, SignInForm
from .helpers import back

log = logging.getLogger(__name__)


@blueprint.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
def login():
    form = SignInForm()
    if current_user.is_authenticated and not form.is_submitted():
        return redirect(url_for("console.dashboard"))
    if form.validate_on_submit():
        account = users.sign_in(form.email.data, form.password.data)
        if account is not None:
            sessions.start_session(account)
            return back("console.dashboard")
        log.info("failed sign-in")
        # The same words whether the account exists or not.
        flash(_("That email and password do not match an account."), "error")
    status = 422 if form.is_submitted() else 200
    return render_template("console/login.html", form=form), status


@blueprint.route("/logout", methods=["POST"])
@allow(STAFF)
def logout():
    if ConfirmForm().validate_on_submit():
        users.end_all_sessions(acting_user())
        sessions.end_session()
        flash(_("You are signed out on every device."), "info")
    return redirect(url_for("console.login"))
