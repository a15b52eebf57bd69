"""Administration: staff accounts and the component catalogue."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...models import Role
from ...services import catalogue, incidents, users
from ...services.errors import ServiceError
from ..access import acting_user, allow
from . import blueprint
from .forms import ComponentForm, EditUserForm, GroupForm, NewUserForm, options
from .helpers import flash_errors, form_failed, refused


@blueprint.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def accounts():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            users.create_user(form.email.data, form.name.data, form.role.data, form.password.data)
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Account created."), "info")
            return redirect(url_for("console.accounts"))
    status = 422 if form.errors else 200
    return render_template(
        "console/users.html", form=form, users=users.all_users(), edit_form=EditUserForm
    ), status


@blueprint.route("/users/<int:user_id>", methods=["POST"])
@allow(Role.ADMIN)
def edit_account(user_id: int):
    form = EditUserForm()
    if form.validate_on_submit():
        try:
            users.update_account(
                acting_user(),
                users.get_user(user_id),
                role=form.role.data,
                enabled=form.enabled.data,
            )
        except ServiceError as error:
            refused(error)
        else:
            flash(_("Account saved."), "info")
    else:
        flash_errors(form)
    return redirect(url_for("console.accounts"))


@blueprint.route("/catalogue", methods=["GET", "POST"])
@allow(Role.ADMIN)
def catalogue_page():
    form = _component_form()
    if form.validate_on_submit():
        try:
            catalogue.create_component(
                acting_user(),
                form.name.data,
                form.description.data,
                form.group.data or None,
                form.only_show_if_degraded.data,
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Component added."), "info")
            return redirect(url_for("console.catalogue_page"))
    return _render_catalogue(form, GroupForm(formdata=None)), 422 if form.errors else 200


@blueprint.route("/catalogue/groups", methods=["POST"])
@allow(Role.ADMIN)
def add_group():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            catalogue.create_group(acting_user(), form.name.data, form.description.data)
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Group added."), "info")
            return redirect(url_for("console.catalogue_page"))
    return _render_catalogue(_component_form(formdata=False), form), 422


@blueprint.route("/catalogue/<public_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_component(public_id: str):
    component = incidents.get_component(public_id)
    form = _component_form(obj=component)
    if form.validate_on_submit():
        try:
            catalogue.update_component(
                acting_user(),
                component,
                name=form.name.data,
                description=form.description.data,
                group_id=form.group.data or None,
                position=form.position.data or 0,
                only_show_if_degraded=form.only_show_if_degraded.data,
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Component saved."), "info")
            return redirect(url_for("console.catalogue_page"))
    status = 422 if form.errors else 200
    return render_template("console/component_edit.html", form=form, component=component), status


def _component_form(formdata=True, obj=None) -> ComponentForm:
    if obj is not None:
        form = ComponentForm(obj=obj, group=obj.group_id or 0)
    else:
        form = ComponentForm() if formdata else ComponentForm(formdata=None)
    form.group.choices = options({0: _("No group")} | {g.id: g.name for g in catalogue.groups()})
    return form


def _render_catalogue(component_form, group_form):
    return render_template(
        "console/catalogue.html",
        form=component_form,
        group_form=group_form,
        components=catalogue.components(),
        groups=catalogue.groups(),
    )
