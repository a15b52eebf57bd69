import pytest

from publisher.models import Role, RosterRole
from publisher.services import roster, timeline
from publisher.services.errors import Conflict, InvalidInput
from publisher.services.permissions import Forbidden

from ..staff import make_user


@pytest.fixture
def people(app):
    return {role: make_user(role) for role in Role}


def test_a_single_holder_role_changes_hands(app, make, people):
    incident = make.incident()
    admin = people[Role.ADMIN]
    roster.assign(admin, incident, RosterRole.SCRIBE, people[Role.SUPPORT_AGENT])
    roster.assign(admin, incident, RosterRole.SCRIBE, people[Role.SOCIAL_LEAD])
    scribes = [a.user for a in incident.roster if a.role == RosterRole.SCRIBE]
    assert scribes == [people[Role.SOCIAL_LEAD]]


def test_several_technical_leads_can_work_in_parallel(app, make, people):
    incident = make.incident()
    admin = people[Role.ADMIN]
    roster.assign(admin, incident, RosterRole.TECH_LEAD, people[Role.RESPONDER], "Database")
    roster.assign(admin, incident, RosterRole.TECH_LEAD, people[Role.SUPPORT_AGENT], "Network")
    line = next(x for x in roster.roster_lines(incident) if x.role == RosterRole.TECH_LEAD)
    assert [a.label for a in line.holders] == ["Database", "Network"]
    assert not line.held_by_incident_manager


def test_an_ad_hoc_role_needs_a_name(app, make, people):
    with pytest.raises(InvalidInput):
        roster.assign(
            people[Role.ADMIN], make.incident(), RosterRole.AD_HOC, people[Role.RESPONDER]
        )


def test_the_incident_manager_holds_every_role_nobody_else_holds(app, make, people):
    incident = make.incident()
    im = people[Role.INCIDENT_MANAGER]
    roster.assign(people[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, im)
    lines = roster.roster_lines(incident)
    assert all(
        line.held_by_incident_manager for line in lines if line.role != RosterRole.INCIDENT_MANAGER
    )
    mine = dict((i.id, roles) for i, roles in roster.my_roles(im))
    assert set(mine[incident.id]) == set(roster.STANDARD_ROLES)


def test_the_incident_manager_cannot_be_removed_only_replaced(app, make, people):
    incident = make.incident()
    assignment = roster.assign(
        people[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, people[Role.INCIDENT_MANAGER]
    )
    with pytest.raises(Conflict):
        roster.unassign(people[Role.ADMIN], incident, assignment.id)


def test_a_responder_made_incident_manager_of_one_incident_may_assign_its_roles(app, make, people):
    incident, other = make.incident(), make.incident(name="Other")
    responder = people[Role.RESPONDER]
    roster.assign(people[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, responder)
    roster.assign(responder, incident, RosterRole.SCRIBE, people[Role.SUPPORT_AGENT])
    with pytest.raises(Forbidden):
        roster.assign(responder, other, RosterRole.SCRIBE, people[Role.SUPPORT_AGENT])


def test_a_responder_on_the_roster_may_write_the_timeline_and_one_off_it_may_not(app, make, people):
    incident = make.incident()
    responder = people[Role.RESPONDER]
    with pytest.raises(Forbidden):
        timeline.add_entry(responder, incident, "A theory", "theory")
    roster.assign(people[Role.ADMIN], incident, RosterRole.TECH_LEAD, responder)
    timeline.add_entry(responder, incident, "A theory", "theory")
    assert [i.text for i in timeline.timeline(incident) if i.kind == "theory"] == ["A theory"]


def test_a_comms_manager_cannot_assign_roles(app, make, people):
    with pytest.raises(Forbidden):
        roster.assign(
            people[Role.COMMS_MANAGER],
            make.incident(),
            RosterRole.SCRIBE,
            people[Role.SUPPORT_AGENT],
        )
