"""A person's own account: password and API tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...services import tokens, users
from ...services.errors import ServiceError
from .. import sessions
from ..access import STAFF, acting_user, allow
from . import blueprint
from .forms import ConfirmForm, PasswordForm, TokenForm
from .helpers import flash_errors, form_failed


@blueprint.route("/account")
@allow(STAFF)
def account():
    return _render(PasswordForm(), TokenForm())


@blueprint.route("/account/password", methods=["POST"])
@allow(STAFF)
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(acting_user(), form.current_password.data, form.new_password.data)
        except ServiceError as error:
            form_failed(form, error)
        else:
            sessions.start_session(acting_user())  # this session stays, the others end
            flash(_("Password changed. Other sessions have been signed out."), "info")
            return redirect(url_for("console.account"))
    return _render(form, TokenForm()), 422


@blueprint.route("/account/tokens", methods=["POST"])
@allow(STAFF)
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _render(PasswordForm(), form), 422
    try:
        _token, plaintext = tokens.create_token(acting_user(), form.name.data)
    except ServiceError as error:
        form_failed(form, error)
        return _render(PasswordForm(), form), 422
    return _render(PasswordForm(), TokenForm(formdata=None), new_token=plaintext)


@blueprint.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@allow(STAFF)
def revoke_token(token_id: int):
    if ConfirmForm().validate_on_submit():
        tokens.revoke_token(acting_user(), token_id)
        flash(_("Token revoked."), "info")
    return redirect(url_for("console.account"))


def _render(password_form, token_form, new_token: str | None = None):
    return render_template(
        "console/account.html",
        password_form=password_form,
        token_form=token_form,
        tokens=tokens.tokens_of(acting_user()),
        new_token=new_token,
        confirm=ConfirmForm(),
    )
