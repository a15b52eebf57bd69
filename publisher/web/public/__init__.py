"""Everything a visitor sees: the status page, history, JSON API v2, feeds and badges."""

from flask import Blueprint

blueprint = Blueprint("public", __name__)

from . import api_v2, badges, feeds, pages, subscriptions  # noqa: E402,F401  (routes register on import)
