"""Background jobs. Importing this package registers every task with the queue."""

from . import delivery, export, feedback, mail, periodic, postmortems  # noqa: F401  (register the tasks)
from .queue import bind_app, huey

__all__ = ["bind_app", "huey"]
