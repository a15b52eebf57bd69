"""Background jobs. Importing this package registers every task with the queue."""

from . import periodic  # noqa: F401  (registers the periodic tasks)
from .queue import bind_app, huey

__all__ = ["bind_app", "huey"]
