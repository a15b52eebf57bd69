from datetime import timedelta

import time_machine

from publisher.extensions import db
from publisher.jobs.periodic import transition_maintenance
from publisher.models import ComponentStatus, MaintenanceStatus, utcnow
from publisher.services.maintenance import run_due_transitions


def test_maintenance_starts_on_time_and_moves_its_components(app, make):
    api = make.component("API")
    item = make.maintenance(components=[api], scheduled_for=utcnow() + timedelta(hours=1))
    assert run_due_transitions(utcnow()) == []
    with time_machine.travel(item.scheduled_for + timedelta(seconds=30), tick=False):
        transition_maintenance()
    db.session.expire_all()
    assert item.status == MaintenanceStatus.IN_PROGRESS
    assert api.status == ComponentStatus.UNDER_MAINTENANCE
    assert [m.incident_status for m in item.messages][-1] == MaintenanceStatus.IN_PROGRESS


def test_maintenance_completes_and_gives_components_back(app, make):
    api = make.component("API")
    item = make.maintenance(components=[api], scheduled_for=utcnow() + timedelta(minutes=5))
    with time_machine.travel(item.scheduled_for + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
    with time_machine.travel(item.scheduled_until + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
    db.session.expire_all()
    assert item.status == MaintenanceStatus.COMPLETED
    assert item.resolved_at is not None
    assert api.status == ComponentStatus.OPERATIONAL


def test_a_real_outage_during_maintenance_is_not_hidden_when_it_completes(app, make):
    api, web = make.component("API"), make.component("Web", position=1)
    item = make.maintenance(components=[api, web], scheduled_for=utcnow() + timedelta(minutes=5))
    with time_machine.travel(item.scheduled_for + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
        make.incident(components=[web], component_status=ComponentStatus.MAJOR_OUTAGE)
    with time_machine.travel(item.scheduled_until + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
    db.session.expire_all()
    assert api.status == ComponentStatus.OPERATIONAL
    assert web.status == ComponentStatus.MAJOR_OUTAGE


def test_a_missed_window_goes_straight_to_completed(app, make):
    api = make.component("API")
    item = make.maintenance(components=[api], scheduled_for=utcnow() + timedelta(minutes=5))
    with time_machine.travel(item.scheduled_until + timedelta(hours=3), tick=False):
        run_due_transitions(utcnow())
    db.session.expire_all()
    assert item.status == MaintenanceStatus.COMPLETED
    assert api.status == ComponentStatus.OPERATIONAL


def test_maintenance_without_automatic_transitions_is_left_alone(app, make):
    item = make.maintenance(scheduled_for=utcnow() + timedelta(minutes=5), auto_transition=False)
    with time_machine.travel(item.scheduled_until + timedelta(hours=1), tick=False):
        assert run_due_transitions(utcnow()) == []
    db.session.expire_all()
    assert item.status == MaintenanceStatus.SCHEDULED
