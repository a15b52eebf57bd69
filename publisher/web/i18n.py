"""Locale and time zone selection for Flask-Babel."""

from flask import has_request_context, request

from ..config import SUPPORTED_LOCALES


def select_locale() -> str:
    if not has_request_context():
        return SUPPORTED_LOCALES[0]
    chosen = request.cookies.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or SUPPORTED_LOCALES[0]


def select_timezone() -> str:
    # Server-rendered times are UTC with the zone named; JavaScript shows local time.
    return "UTC"
