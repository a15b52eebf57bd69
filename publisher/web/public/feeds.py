"""Placeholder until the routes land."""

from . import blueprint  # noqa: F401
