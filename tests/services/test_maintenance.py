from datetime import timedelta

import time_machine
from sqlalchemy import select

from publisher.extensions import db
from publisher.jobs.periodic import transition_maintenance
from publisher.models import (
    Channel,
    ChannelKind,
    ComponentStatus,
    Delivery,
    MaintenanceStatus,
    Subscriber,
    SubscriberKind,
    utcnow,
)
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


def test_the_updates_maintenance_posts_on_time_go_out_to_outlets_and_subscribers(app, make):
    """Starting and completing on time publishes an update each, and each fans out as one a
    person published: to the outlets, and to the subscribers of its components."""
    api = make.component("API")
    slack = Channel(kind=ChannelKind.SLACK, name="#status")
    email = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    reader = Subscriber(kind=SubscriberKind.EMAIL, target="ada@example.com", confirmed_at=utcnow())
    db.session.add_all([slack, email, reader])
    db.session.commit()
    item = make.maintenance(components=[api], scheduled_for=utcnow() + timedelta(minutes=5))
    with time_machine.travel(item.scheduled_for + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
    with time_machine.travel(item.scheduled_until + timedelta(minutes=1), tick=False):
        run_due_transitions(utcnow())
    db.session.expire_all()
    automatic = [m for m in item.messages if m.incident_status != MaintenanceStatus.SCHEDULED]
    assert [m.incident_status for m in automatic] == ["in_progress", "completed"]
    for message in automatic:
        rows = db.session.scalars(select(Delivery).where(Delivery.message_id == message.id))
        assert sorted((r.channel_id, r.subscriber_id) for r in rows) == sorted(
            [(slack.id, None), (email.id, reader.id)]
        )
