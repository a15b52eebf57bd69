"""Periodic tasks run by the Huey consumer."""

from huey import crontab

from ..models import utcnow
from ..services import composer, maintenance
from .queue import huey, with_app_context


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def transition_maintenance() -> None:
    """Start and complete scheduled maintenance whose time has come."""
    maintenance.run_due_transitions(utcnow())


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def publish_scheduled_updates() -> None:
    """Publish approved updates whose scheduled time has come."""
    composer.publish_due(utcnow())
