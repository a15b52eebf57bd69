"""The authenticated automation API (/api/v1), bearer tokens acting as their owner."""

from flask import Blueprint

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401  (routes register on import)
    channels,
    components,
    incidents,
    messages,
    openapi,
    postmortems,
)
