"""The demo data shows the feature: a past incident with a reviewed, published postmortem
and follow-up actions in each state, and no reminder mail to the demo's addresses."""

from __future__ import annotations

from sqlalchemy import select

from publisher.extensions import db
from publisher.models import ActionStatus, Incident, utcnow
from publisher.services import demo, postmortems, users
from publisher.services.postmortems.reminders import due_action_ids

from ..staff import sign_in


def test_the_demo_has_a_published_postmortem_with_actions_in_each_state(app, client):
    accounts = demo.load_demo(utcnow())
    incident = db.session.scalar(select(Incident).where(Incident.name == demo.POSTMORTEM_INCIDENT))
    postmortem = postmortems.get_postmortem(incident)
    assert incident.status == "postmortem" and postmortem.state == "published"
    assert postmortem.approved_hash == postmortems.content_hash(postmortem)
    assert postmortem.approved_by_id not in (postmortem.author_id, postmortem.last_editor_id)
    statuses = sorted(a.status for a in postmortem.actions)
    assert statuses == sorted(ActionStatus)
    wont_do = next(a for a in postmortem.actions if a.status == ActionStatus.WONT_DO)
    assert wont_do.status_reason

    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert 'id="postmortem"' in page and "We are sorry for the disruption." in page
    assert "hot_standby_feedback" not in page  # the internal version stays internal
    incidents = client.get("/api/v2/incidents.json").get_json()["incidents"]
    assert next(i for i in incidents if i["id"] == incident.public_id)["status"] == "postmortem"

    admin = next(a for a in accounts if a.role == "admin")
    console = app.test_client()
    sign_in(console, users.find_by_email(admin.email), admin.password)
    listed = console.get("/console/actions").get_data(as_text=True)
    assert listed.count("overdue</strong>") == 1
    assert "Rehearse a database failover every quarter" in listed
    assert "Raise the API" not in listed  # done


def test_the_demo_mails_no_reminder(app):
    demo.load_demo(utcnow())
    assert due_action_ids(utcnow().date()) == []
