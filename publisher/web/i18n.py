"""Locale and time zone selection for Flask-Babel, and what the language switcher offers.

The language is the visitor's choice (the `lang` cookie the switcher sets) when
Herald has it, else the best match of the browser's Accept-Language, else the
default (the first of SUPPORTED_LOCALES). The public cache and its fast path key
on the same answer (resolve_locale), so a page is never served in a language
other than the one it was rendered in.
"""

from __future__ import annotations

from flask import has_request_context, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from ..config import SUPPORTED_LOCALES

LANGUAGE_COOKIE = "lang"
# A year: the choice outlives the session, like any site preference.
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Each language in its own words: someone who cannot read the page can still find theirs.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
# Longer headers are cut before parsing: a browser sends a few dozen characters.
MAX_ACCEPT_LANGUAGE = 512


def default_locale() -> str:
    return SUPPORTED_LOCALES[0]


def resolve_locale(chosen: str | None, accept_language: str | None) -> str:
    """The locale for a cookie value and an Accept-Language header (either may be absent)."""
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if accept_language:
        accepted = parse_accept_header(accept_language[:MAX_ACCEPT_LANGUAGE], LanguageAccept)
        best = accepted.best_match(SUPPORTED_LOCALES)
        if best in SUPPORTED_LOCALES:
            return best
    return default_locale()


def select_locale() -> str:
    if not has_request_context():
        return default_locale()  # jobs that mail someone wrap their work in force_locale
    return resolve_locale(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("Accept-Language")
    )


def select_timezone() -> str:
    # Server-rendered times are UTC with the zone named; JavaScript shows local time.
    return "UTC"


def languages() -> list[tuple[str, str]]:
    """(code, name in that language) for each supported locale, in configured order."""
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LOCALES]


def translation_languages() -> list[tuple[str, str]]:
    """(code, name) of each language an update may be translated into: all but the default."""
    return languages()[1:]


def supported(code: str | None) -> str | None:
    """`code` if it is a supported locale, else None (for stored or posted values)."""
    return code if code in SUPPORTED_LOCALES else None
