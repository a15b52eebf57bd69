"""Everything a visitor sees: the status page, history, JSON API v2, feeds and badges."""

from flask import Blueprint

blueprint = Blueprint("public", __name__)

from . import (  # noqa: E402,F401  (routes register on import)
    api_v2,
    badges,
    feedback,
    feeds,
    pages,
    subscriptions,
)
