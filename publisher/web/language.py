"""The language switcher: POST /language remembers the choice in a cookie and goes back.

The switcher sits in the footer of every public page, and public pages are
shared from the cache, so its form cannot carry a per-session CSRF token.
The request is instead checked to come from Herald's own pages (Sec-Fetch-Site,
else Origin, else Referer: the header-based defence OWASP describes); anything
else is a 400, like a failed CSRF token. The worst a forged request could do is
change a visitor's language, and even that is refused. The way back is a local
path only, never another site. A signed-in person's choice is also kept on their
account, so the emails Herald sends them are in it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import csrf
from ..services import users
from ..services.errors import InvalidInput, ServiceError
from .access import public
from .i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_SECONDS, supported

log = logging.getLogger(__name__)

blueprint = Blueprint("language", __name__)

MAX_NEXT = 2048


class CrossSiteRequest(ServiceError):
    status_code = 400


@blueprint.post("/language")
@public
@csrf.exempt  # checked by origin instead: the form is on pages shared from the cache
def switch():
    if not same_origin():
        log.info("language switch refused: not sent from this site's pages")
        raise CrossSiteRequest(_("Change the language from this site's own pages."))
    code = supported(request.form.get("lang"))
    if code is None:
        raise InvalidInput(_("Choose one of the languages offered."), field="lang")
    if current_user.is_authenticated:  # staff: their reminder emails follow the console
        users.remember_locale(current_user.account, code)
    response = redirect(local_path(request.form.get("next")), code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_SECONDS,
        path=request.script_root or "/",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response


def same_origin() -> bool:
    """True when the browser says (or shows) that the form was posted from this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    if origin is None:
        origin = _origin_of(request.headers.get("Referer"))
    return origin is not None and origin.lower() in _own_origins()


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else the site's root: never another site."""
    home = f"{request.script_root}/"
    if not target or len(target) > MAX_NEXT or not target.startswith("/"):
        return home
    if target.startswith("//") or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return home  # `//host` and `/\host` are other sites to a browser
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def _own_origins() -> set[str]:
    own = {request.host_url.rstrip("/").lower()}
    base = _origin_of(current_app.config.get("BASE_URL"))
    if base is not None:
        own.add(base)
    return own


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()
