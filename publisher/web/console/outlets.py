"""Outlets (admins configure each channel) and stuck deliveries (responders retry or settle)."""

from __future__ import annotations

from urllib.parse import quote

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...models import Channel, ChannelKind, DeliveryState, Role
from ...services import composer, delivery_status, outlet_admin
from ...services.errors import Conflict, InvalidInput, ServiceError
from ...services.permissions import RESPONDERS
from ..access import acting_user, allow
from . import blueprint
from .forms import ConfirmForm
from .helpers import back, flash_errors, form_failed, refused
from .outlet_forms import (
    AUDIENCE_LABELS,
    DELIVERY_STATE_LABELS,
    KIND_LABELS,
    SECRET_HINT,
    SettleForm,
    outlet_failed,
    outlet_form,
    save_arguments,
)


@blueprint.context_processor
def _outlet_helpers() -> dict:
    return {
        "outlet_kind": lambda kind: str(KIND_LABELS.get(kind, kind)),
        "delivery_state": lambda state: str(DELIVERY_STATE_LABELS.get(state, state)),
        "audience_name": lambda value: str(AUDIENCE_LABELS.get(value, value)),
        "post_link": post_link,
        "delivery_states": list(DeliveryState),
    }


# ---------------------------------------------------------------- outlets (admins)


@blueprint.route("/outlets")
@allow(Role.ADMIN)
def outlets():
    rows = [_describe(channel) for channel in outlet_admin.all_channels()]
    return render_template("console/outlets.html", rows=rows, kinds=outlet_admin.kinds())


@blueprint.route("/outlets/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_outlet():
    kind = request.args.get("kind", "")
    if kind not in outlet_admin.kinds():
        page = render_template("console/outlet_edit.html", form=None, kinds=outlet_admin.kinds())
        return page, 404 if kind else 200
    return _edit(kind, None)


@blueprint.route("/outlets/<int:channel_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_outlet(channel_id: int):
    return _edit(None, outlet_admin.get_channel(channel_id))


def _edit(kind: str | None, channel: Channel | None):
    """The outlet form for a new channel of `kind`, or for `channel`; save it on POST."""
    description, locked = _describe(channel or Channel(kind=ChannelKind(kind)))
    form = outlet_form(description.settings_schema, channel, description.secrets_set)
    if form.validate_on_submit():
        try:
            saved = _save(form, kind, channel)
        except ServiceError as error:
            outlet_failed(form, error)
        else:
            flash(_("Outlet “%(name)s” saved.", name=saved.name), "info")
            return redirect(url_for("console.outlets"))
    page = render_template(
        "console/outlet_edit.html",
        form=form,
        kind=description.channel.kind,
        channel=channel,
        locked=_locked_message() if locked else None,
        secret_hint=SECRET_HINT,
    )
    return page, 422 if form.errors or form.secrets.errors else 200


def _save(form, kind: str | None, channel: Channel | None) -> Channel:
    arguments = save_arguments(form)
    return outlet_admin.save_channel(
        acting_user(), kind=kind or channel.kind, channel=channel, **arguments
    )


def _describe(channel: Channel):
    """(description, locked): locked when the stored secrets cannot be opened with the key."""
    description = outlet_admin.describe(channel)
    return description, description.locked


def _locked_message() -> str:
    return _(
        "The stored secrets cannot be opened: CHANNEL_SECRETS_KEY is missing or has changed. "
        "Restore the key to change this outlet."
    )


def post_link(channel: Channel, external_id: str | None) -> str | None:
    """A link to the post on its network, where its address follows from the post id."""
    build = _POST_LINKS.get(channel.kind)
    return build(channel.settings or {}, external_id) if build and external_id else None


def _x_link(settings: dict, post_id: str) -> str | None:
    account = str(settings.get("account") or "").lstrip("@")
    return f"https://x.com/{_q(account)}/status/{_q(post_id)}" if account else None


def _bluesky_link(settings: dict, external_id: str) -> str | None:
    handle = str(settings.get("handle") or "").lstrip("@")
    rkey = external_id.split("|", 1)[0].rsplit("/", 1)[-1]  # at://did/app.bsky.feed.post/rkey
    return f"https://bsky.app/profile/{_q(handle)}/post/{_q(rkey)}" if handle else None


def _mastodon_link(settings: dict, status_id: str) -> str | None:
    server = str(settings.get("server_url") or "").rstrip("/")
    user = str(settings.get("account") or "").lstrip("@").split("@", 1)[0]
    if not (user and server.startswith(("https://", "http://"))):
        return None
    return f"{server}/@{_q(user)}/{_q(status_id)}"


def _q(part: str) -> str:
    return quote(part, safe="")


_POST_LINKS = {
    ChannelKind.X: _x_link,
    ChannelKind.BLUESKY: _bluesky_link,
    ChannelKind.MASTODON: _mastodon_link,
}


# ---------------------------------------------------------------- stuck deliveries


@blueprint.route("/deliveries")
@allow(RESPONDERS)
def deliveries():
    return _deliveries_page()


@blueprint.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@allow(RESPONDERS)
def retry_delivery(delivery_id: int):
    form = ConfirmForm(prefix="retry")
    if not form.validate_on_submit():
        flash_errors(form)
        return back("console.deliveries")
    try:
        delivery_status.retry(acting_user(), delivery_id)
    except Conflict as error:
        refused(error)
    else:
        flash(_("Sending it again; it shows as retrying until it goes out."), "info")
    return back("console.deliveries")


@blueprint.route("/deliveries/<int:delivery_id>/settle", methods=["POST"])
@allow(RESPONDERS)
def settle_delivery(delivery_id: int):
    form = SettleForm(prefix=f"settle{delivery_id}")
    if not form.validate_on_submit():
        return _deliveries_page({delivery_id: form}), 422
    try:
        delivery_status.settle(
            acting_user(), delivery_id, form.went_out.data == "yes", form.note.data or ""
        )
    except (Conflict, InvalidInput) as error:
        form_failed(form, error)
        return _deliveries_page({delivery_id: form}), error.status_code
    flash(_("Recorded. The row has left the list."), "info")
    return back("console.deliveries")


def _deliveries_page(posted: dict | None = None):
    """Dead and unknown rows; ?message=<id> narrows them to one update."""
    rows = delivery_status.stuck()
    message = _message_filter()
    if message is not None:
        rows = [row for row in rows if row.message_id == message.id]
    posted = posted or {}
    forms = {
        row.id: posted.get(row.id) or SettleForm(formdata=None, prefix=f"settle{row.id}")
        for row in rows
    }
    return render_template(
        "console/deliveries.html",
        rows=rows,
        message=message,
        settle_forms=forms,
        here=url_for("console.deliveries", message=message.public_id if message else None),
    )


def _message_filter():
    public_id = request.args.get("message")
    return composer.get_message(public_id) if public_id else None
