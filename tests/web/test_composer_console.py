"""The composer in the console: real HTTP through the test client, a real database."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from markupsafe import escape

from publisher.extensions import db
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Impact,
    Message,
    MessageState,
    MessageTemplate,
    Outlet,
    Role,
    utcnow,
)
from publisher.services import composer
from publisher.services.outlets.lengths import measure

from ..corpus import assert_harmless_html, lines
from ..staff import make_user, sign_in

# Every composer action that writes (or, for preview, computes for an editor).
WRITES = ["edit", "preview", "submit", "approve", "request-changes", "comment", "publish"]
WRITES += ["schedule", "emergency-publish", "revise"]


class _Forms(HTMLParser):
    """What a browser would send for each form on a page (disabled controls left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, str]] = {}
        self._action, self._disabled_depth, self._depth = None, None, 0
        self._textarea, self._select = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._action = attrs.get("action", "")
            self.forms[self._action] = {}
        elif tag == "fieldset":
            self._depth += 1
            if "disabled" in attrs and self._disabled_depth is None:
                self._disabled_depth = self._depth
        elif self._action is not None and self._disabled_depth is None and "disabled" not in attrs:
            self._control(tag, attrs)

    def _control(self, tag, attrs):
        fields = self.forms[self._action]
        if tag == "input" and attrs.get("type") not in ("submit", "checkbox"):
            fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            fields[self._textarea] = ""
        elif tag == "select":
            self._select = attrs["name"]
        elif (
            tag == "option" and self._select and ("selected" in attrs or self._select not in fields)
        ):
            fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None
        elif tag == "fieldset":
            if self._disabled_depth == self._depth:
                self._disabled_depth = None
            self._depth -= 1
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self._action is not None:
            fields = self.forms[self._action]
            fields[self._textarea] = (fields[self._textarea] + data).removeprefix("\r\n")


def form_on(page: str, action_end: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page)
    found = [fields for action, fields in parser.forms.items() if action.endswith(action_end)]
    assert found, f"no form posting to …{action_end}"
    return dict(found[0])


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in Role}


@pytest.fixture
def incident(make):
    return make.incident(components=[make.component("API")], impact=Impact.MAJOR)


def client_for(app, user):
    return sign_in(app.test_client(), user)


def url(message: Message, action: str = "") -> str:
    return f"/console/messages/{message.public_id}" + (f"/{action}" if action else "")


def fresh(message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def draft(team, incident, body="We found the cause of the errors.", author=Role.COMMS_MANAGER):
    return composer.create_draft(team[author], incident, incident_status="identified", body=body)


def in_review(team, incident, **kwargs):
    message = draft(team, incident, **kwargs)
    return composer.submit(team[Role.COMMS_MANAGER], message)


def approved(team, incident, **kwargs):
    message = in_review(team, incident, **kwargs)
    digest = composer.content_hash(message)
    return composer.approve(team[Role.INCIDENT_MANAGER], message, expected_hash=digest)


def published(team, incident, **kwargs):
    return composer.publish(team[Role.COMMS_MANAGER], approved(team, incident, **kwargs))


def save(client, message, **changes):
    """Post the editor form as the page drew it, with some boxes changed."""
    fields = form_on(client.get(url(message)).get_data(as_text=True), "/edit")
    return client.post(url(message, "edit"), data={**fields, **changes})


# ---------------------------------------------------------------- the whole flow


def test_a_drafted_update_is_approved_by_someone_else_then_published_everywhere(
    app, team, incident
):
    db.session.add_all(
        [
            Channel(kind=ChannelKind.X, name="@example"),
            Channel(kind=ChannelKind.MASTODON, name="@status@example.social"),
            Channel(kind=ChannelKind.SLACK, name="#incidents", audiences=["internal"]),
        ]
    )
    db.session.commit()
    cora = client_for(app, team[Role.COMMS_MANAGER])
    assert (
        cora.post(
            "/console/templates",
            data={
                "name": "Identified",
                "incident_status": "identified",
                "body": "We found the cause of {incident_name}; it affects {affected_components}.",
            },
        ).status_code
        == 302
    )
    template = db.session.query(MessageTemplate).one()
    api = incident.components[0]
    new = cora.get(f"/console/incidents/{incident.public_id}/messages/new")
    assert new.status_code == 200 and "Identified" in new.get_data(as_text=True)
    created = cora.post(
        f"/console/incidents/{incident.public_id}/messages/new",
        data={
            "template": template.id,
            "incident_status": "",
            "audience": "public",
            f"component_{api.public_id}": "partial_outage",
        },
    )
    assert created.status_code == 302
    message = db.session.query(Message).filter_by(author_id=team[Role.COMMS_MANAGER].id).one()
    assert message.body == "We found the cause of Elevated errors; it affects API."
    assert message.incident_status == "identified"

    page = cora.get(url(message)).get_data(as_text=True)
    for variant in message.variants:
        counted = measure(variant.outlet, variant.text)
        assert f">{counted.count} " in page.split(f'data-counter="{variant.outlet}"')[1][:60]
        assert counted.ok
    for card in (
        "post-card--x",
        "post-card--mastodon",
        "post-card--bluesky",
        "slack-card",
        "email-card",
        "page-entry",
    ):
        assert card in page
    assert "weighted characters" in page and "graphemes" in page

    assert cora.post(url(message, "submit"), data=form_on(page, "/submit")).status_code == 302
    ian = client_for(app, team[Role.INCIDENT_MANAGER])
    review = ian.get(url(message)).get_data(as_text=True)
    approval = form_on(review, "/approve")
    assert approval["approve-expected_hash"] == composer.content_hash(fresh(message))
    assert ian.post(url(message, "approve"), data=approval).status_code == 302

    ready = cora.get(url(message)).get_data(as_text=True)
    publish = {**form_on(ready, "/publish"), "publish-next_update_in": "45"}
    assert cora.post(url(message, "publish"), data=publish).status_code == 302

    message = fresh(message)
    assert message.state == MessageState.PUBLISHED
    due = message.incident.next_update_due_at
    assert timedelta(minutes=44) < due - utcnow() <= timedelta(minutes=45)
    public = app.test_client()
    incident_page = public.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "We found the cause of Elevated errors" in incident_page
    assert "Next update expected by" in incident_page
    assert "We found the cause of Elevated errors" in public.get("/api/v2/incidents.json").get_data(
        as_text=True
    )
    assert "We found the cause of Elevated errors" in public.get("/history.atom").get_data(
        as_text=True
    )
    deliveries = db.session.query(Delivery).filter_by(message_id=message.id).all()
    assert sorted(d.channel.kind for d in deliveries) == [ChannelKind.MASTODON, ChannelKind.X]
    assert {d.state for d in deliveries} == {DeliveryState.PENDING}


# ---------------------------------------------------------------- refusals


def test_an_over_long_x_text_is_refused_with_a_clear_message_and_nothing_is_saved(
    app, team, incident
):
    message = draft(team, incident)
    before = (message.version, message.body, {v.outlet: v.text for v in message.variants})
    response = save(
        client_for(app, team[Role.COMMS_MANAGER]),
        message,
        body="A new body that must not be saved either.",
        variant_x="a" * 281,
    )
    assert response.status_code == 422
    assert "281 weighted characters; the limit is 280" in response.get_data(as_text=True)
    message = fresh(message)
    assert (message.version, message.body, {v.outlet: v.text for v in message.variants}) == before


def test_the_author_cannot_approve_their_own_update(app, team, incident):
    message = in_review(team, incident, author=Role.INCIDENT_MANAGER)
    ian = client_for(app, team[Role.INCIDENT_MANAGER])
    page = ian.get(url(message)).get_data(as_text=True)
    assert "someone else must approve it" in page
    response = ian.post(
        url(message, "approve"), data={"approve-expected_hash": composer.content_hash(message)}
    )
    assert response.status_code == 403
    assert "someone else must approve it" in response.get_data(as_text=True)
    assert fresh(message).state == MessageState.IN_REVIEW


def test_an_approval_covers_only_the_text_the_reviewer_saw(app, team, incident):
    message = in_review(team, incident)
    ian = client_for(app, team[Role.INCIDENT_MANAGER])
    approval = form_on(ian.get(url(message)).get_data(as_text=True), "/approve")
    cora = client_for(app, team[Role.COMMS_MANAGER])
    assert save(cora, message, body="Different words now.").status_code == 302
    cora.post(url(message, "submit"), data={})
    response = ian.post(url(message, "approve"), data=approval)
    assert response.status_code == 409
    assert "changed since you read it" in response.get_data(as_text=True)
    assert fresh(message).state == MessageState.IN_REVIEW


def test_an_edit_after_approval_returns_to_draft_and_publishing_is_refused(app, team, incident):
    message = approved(team, incident)
    cora = client_for(app, team[Role.COMMS_MANAGER])
    assert save(cora, message, body="A late change of wording.").status_code == 302
    message = fresh(message)
    assert (message.state, message.approved_hash) == (MessageState.DRAFT, None)
    response = cora.post(url(message, "publish"), data={})
    assert response.status_code == 409
    assert "cannot be published" in response.get_data(as_text=True)
    assert fresh(message).state == MessageState.DRAFT
    assert db.session.query(Delivery).count() == 0


def test_two_people_saving_at_once_the_second_is_told_to_reload(app, team, incident):
    message = draft(team, incident)
    cora = client_for(app, team[Role.COMMS_MANAGER])
    ada = client_for(app, team[Role.ADMIN])
    stale = form_on(ada.get(url(message)).get_data(as_text=True), "/edit")
    assert save(cora, message, body="Cora's words.").status_code == 302
    response = ada.post(url(message, "edit"), data={**stale, "body": "Ada's words."})
    assert response.status_code == 409
    assert "Someone else changed this update" in response.get_data(as_text=True)
    assert fresh(message).body == "Cora's words."


def test_emergency_publishing_needs_a_reason_and_is_on_the_incident_timeline(app, team, incident):
    message = draft(team, incident)
    ian = client_for(app, team[Role.INCIDENT_MANAGER])
    refused = ian.post(url(message, "emergency-publish"), data={"emergency-reason": ""})
    assert refused.status_code == 422
    assert fresh(message).state == MessageState.DRAFT
    cora = client_for(app, team[Role.COMMS_MANAGER])
    reason = "Customers are losing data right now"
    assert (
        cora.post(url(message, "emergency-publish"), data={"emergency-reason": reason}).status_code
        == 403
    )
    done = ian.post(url(message, "emergency-publish"), data={"emergency-reason": reason})
    assert done.status_code == 302
    assert fresh(message).state == MessageState.PUBLISHED
    events = ian.get(f"/console/incidents/{incident.public_id}/timeline.json").get_json()
    recorded = [e for e in events["timeline"] if e["action"] == "message.emergency_published"]
    assert recorded and recorded[0]["after"]["comment"] == reason
    assert reason in ian.get(url(message)).get_data(as_text=True)


# ---------------------------------------------------------------- who may do what


def test_the_social_lead_can_edit_the_x_text_but_not_the_body(app, team, incident):
    message = draft(team, incident)
    sol = client_for(app, team[Role.SOCIAL_LEAD])
    page = sol.get(url(message)).get_data(as_text=True)
    assert "body" not in form_on(page, "/edit")  # the body's fieldset is disabled for her
    assert save(sol, message, variant_x="Errors on the API; we are on it.").status_code == 302
    x = next(v for v in fresh(message).variants if v.outlet == Outlet.X)
    assert (x.text, x.edited) == ("Errors on the API; we are on it.", True)
    response = sol.post(url(message, "edit"), data={"body": "Her own body text."})
    assert response.status_code == 403
    assert fresh(message).body == "We found the cause of the errors."


@pytest.mark.parametrize("role", [Role.SUPPORT_AGENT, Role.RESPONDER])
def test_support_agents_and_responders_read_the_composer_but_cannot_write(
    app, team, incident, role
):
    message = in_review(team, incident)
    reader = client_for(app, team[role])
    page = reader.get(url(message))
    assert page.status_code == 200
    assert "We found the cause of the errors." in page.get_data(as_text=True)
    for action in WRITES:
        assert reader.post(url(message, action), data={}).status_code == 403, action
    new = f"/console/incidents/{incident.public_id}/messages/new"
    assert reader.get(new).status_code == 403
    assert reader.get("/console/templates").status_code == 403
    assert fresh(message).version == message.version


# ---------------------------------------------------------------- previews


def test_the_preview_button_shows_counters_for_the_posted_text_and_saves_nothing(
    app, team, incident
):
    message = draft(team, incident)
    cora = client_for(app, team[Role.COMMS_MANAGER])
    fields = form_on(cora.get(url(message)).get_data(as_text=True), "/edit")
    body = "Payments fail for some cards; retrying works."
    response = cora.post(url(message, "preview"), data={**fields, "body": body})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f">{len(body)} characters<" in page
    assert "unsaved text" in page
    x_text = form_on(page, "/edit")["variant_x"]
    assert body in x_text and f">{measure('x', x_text).count} / 280 weighted" in page
    assert fresh(message).body == "We found the cause of the errors."

    as_json = cora.post(
        url(message, "preview"),
        data={**fields, "body": body},
        headers={"Accept": "application/json"},
    ).get_json()
    outlets = {o["outlet"]: o for o in as_json["outlets"]}
    assert outlets["status_page"]["counter"] == f"{len(body)} characters"
    assert outlets["x"]["derived"] and body in outlets["x"]["text"]


def test_a_box_left_as_shown_keeps_following_the_body_after_a_preview(app, team, incident):
    message = draft(team, incident)
    cora = client_for(app, team[Role.COMMS_MANAGER])
    fields = form_on(cora.get(url(message)).get_data(as_text=True), "/edit")
    previewed = cora.post(url(message, "preview"), data={**fields, "body": "First wording."})
    fields = form_on(previewed.get_data(as_text=True), "/edit")
    assert cora.post(url(message, "edit"), data=fields).status_code == 302
    x = next(v for v in fresh(message).variants if v.outlet == Outlet.X)
    assert "First wording." in x.text and not x.edited


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_text_renders_harmless_in_the_composer_previews(app, team, incident, hostile):
    message = draft(team, incident, body=hostile)
    cora = client_for(app, team[Role.COMMS_MANAGER])
    page = cora.get(url(message)).get_data(as_text=True)
    assert_harmless_html(page.split("<main", 1)[1].split("</main>", 1)[0])
    fields = form_on(page, "/edit")
    outlets = cora.post(
        url(message, "preview"),
        data={**fields, "variant_x": hostile},
        headers={"Accept": "application/json"},
    ).get_json()["outlets"]
    for outlet in outlets:
        assert_harmless_html(outlet["html"] or "")


@pytest.mark.parametrize("hostile", lines("template.txt"))
def test_template_text_comes_out_literally(app, team, incident, hostile):
    cora = client_for(app, team[Role.COMMS_MANAGER])
    body = "{incident_name}: " + hostile
    cora.post(
        "/console/templates", data={"name": "T", "incident_status": "identified", "body": body}
    )
    template = db.session.query(MessageTemplate).one()
    assert str(escape(hostile)) in cora.get("/console/templates").get_data(as_text=True)
    cora.post(
        f"/console/incidents/{incident.public_id}/messages/new",
        data={"template": template.id, "incident_status": "", "audience": "public"},
    )
    message = db.session.query(Message).filter_by(author_id=team[Role.COMMS_MANAGER].id).one()
    assert message.body == f"Elevated errors: {hostile}".strip()
    assert str(escape(hostile.strip())) in cora.get(url(message)).get_data(as_text=True)


# ---------------------------------------------------------------- revisions and due times


def test_a_revision_of_a_published_update_shows_as_edited_on_the_public_page(app, team, incident):
    original = published(team, incident, body="The cause is a bad deploy.")
    cora = client_for(app, team[Role.COMMS_MANAGER])
    started = cora.post(url(original, "revise"), data={})
    assert started.status_code == 302
    revision = db.session.query(Message).filter_by(revision_of_id=original.id).one()
    assert save(cora, revision, body="The cause is a bad configuration change.").status_code == 302
    revision = composer.submit(team[Role.COMMS_MANAGER], fresh(revision))
    page = client_for(app, team[Role.INCIDENT_MANAGER]).get(url(revision)).get_data(as_text=True)
    assert "diff-del" in page and "diff-add" in page
    composer.approve(
        team[Role.INCIDENT_MANAGER], revision, expected_hash=composer.content_hash(revision)
    )
    composer.publish(team[Role.COMMS_MANAGER], revision)
    public = app.test_client().get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "bad configuration change" in public and "bad deploy" not in public
    assert "(edited)" in public


def test_overdue_incidents_show_on_the_dashboard(app, team, incident):
    message = approved(team, incident)
    composer.publish(team[Role.COMMS_MANAGER], message, next_update_in=timedelta(minutes=30))
    cora = client_for(app, team[Role.COMMS_MANAGER])
    board = cora.get("/console/").get_data(as_text=True)
    assert "Next update due by" in board and "Overdue updates" not in board
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        board = cora.get("/console/").get_data(as_text=True)
    assert "Overdue updates" in board and "Update overdue by" in board


def test_templates_can_be_changed_and_deleted(app, team):
    cora = client_for(app, team[Role.COMMS_MANAGER])
    cora.post(
        "/console/templates",
        data={"name": "Fixed", "incident_status": "resolved", "body": "{incident_name} is fixed."},
    )
    template = db.session.query(MessageTemplate).one()
    changed = cora.post(
        f"/console/templates/{template.id}",
        data={"name": "Resolved", "incident_status": "resolved", "body": "All is well again."},
    )
    assert changed.status_code == 302
    db.session.expire_all()
    assert (template.name, template.body) == ("Resolved", "All is well again.")
    assert cora.post(f"/console/templates/{template.id}/delete").status_code == 302
    assert db.session.query(MessageTemplate).count() == 0
