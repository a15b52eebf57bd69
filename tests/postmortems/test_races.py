"""Two people acting on the same postmortem at once: exactly one wins, the other is told why.

Each racer is a thread with its own app context (its own database session), as two web
requests would be; all read before a barrier and act after it, on the same version.
"""

from __future__ import annotations

from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import Channel, ChannelKind, Delivery, Incident, Role, User
from publisher.services import incidents, postmortems

from ..services.test_composer_races import WON, race
from ..staff import make_user
from .conftest import approved


def racer(user_id: int, incident_id: int, act):
    """A racer that reads the user and the postmortem in its own session, then acts."""

    def ready():
        user = db.session.get(User, user_id)
        postmortem = postmortems.get_postmortem(db.session.get(Incident, incident_id))
        return lambda: act(user, postmortem)

    return ready


def _publisher(user_id: int, incident_id: int):
    return racer(user_id, incident_id, lambda user, pm: postmortems.publish(user, pm, notify=True))


def _approver(user_id: int, incident_id: int):
    def ready():
        user = db.session.get(User, user_id)
        postmortem = postmortems.get_postmortem(db.session.get(Incident, incident_id))
        digest = postmortems.content_hash(postmortem)
        return lambda: postmortems.approve(user, postmortem, expected_hash=digest)

    return ready


def _editor(user_id: int, incident_id: int):
    return racer(
        user_id,
        incident_id,
        lambda user, pm: postmortems.edit_postmortem(user, pm, public_body="Changed"),
    )


def test_two_people_publishing_at_once_publish_and_announce_once(app, team, incident):
    db.session.add(Channel(kind=ChannelKind.SLACK, name="#status"))
    approved(team, incident)
    people = [team["pm"].id, team[Role.COMMS_MANAGER].id]
    outcomes = race(app, [_publisher(person, incident.id) for person in people])
    assert sorted(kind for kind, _result in outcomes) == ["Conflict", WON]
    assert db.session.scalar(select(func.count(Delivery.id))) == 1


def test_an_edit_racing_an_approval_never_leaves_an_approval_of_other_text(app, team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.submit(team["pm"], postmortem)
    other = make_user(Role.INCIDENT_MANAGER, "im2@example.com")
    public_id = incident.public_id
    outcomes = race(
        app,
        [_approver(team[Role.INCIDENT_MANAGER].id, incident.id), _editor(other.id, incident.id)],
    )
    assert sorted(kind for kind, _result in outcomes) == ["Conflict", WON]
    final = postmortems.get_postmortem(incidents.get_incident(public_id))
    if final.approved_hash is not None:
        assert final.approved_hash == postmortems.content_hash(final)
