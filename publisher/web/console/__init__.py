"""The staff console (sign-in required)."""

from flask import Blueprint

blueprint = Blueprint("console", __name__, url_prefix="/console")


@blueprint.context_processor
def _console_globals() -> dict:
    from .labels import labels

    return {"labels": labels}


from . import (  # noqa: E402,F401
    account,
    admin,
    auth,
    composer,
    feedback,
    incidents,
    operations,
    outlets,
    postmortems,
)
