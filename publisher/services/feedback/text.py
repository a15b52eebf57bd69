"""Cleaning what customers and agents type: hostile text is stored harmlessly or refused."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from ...channels.net import check_url
from ..errors import InvalidInput
from ..subscriptions import normalize_address

MAX_BODY = 2000
MAX_SHORT = 200
MAX_URL = 2048
_KEEP = {"\n", "\t"}
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str | None, *, limit: int, field: str, multiline: bool = True) -> str:
    """Text without control characters (NUL, escapes, bidi overrides), trimmed; refused when
    longer than `limit` so nothing a customer wrote is silently cut."""
    text = "".join(_safe_char(c, multiline) for c in (value or "").replace("\r\n", "\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(_SPACES.sub(" ", line) for line in text.split("\n")))
    text = text.strip()
    if len(text) > limit:
        raise InvalidInput(_("Keep this under %(n)d characters.", n=limit), field=field)
    return text


def _safe_char(char: str, multiline: bool) -> str:
    if char in _KEEP:
        return char if multiline else " "
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn"):
        return " " if category == "Cc" else ""
    if category == "Cf" and char not in "\u200d":  # keep ZWJ for emoji sequences only
        return ""
    if category in ("Zl", "Zp"):
        return "\n" if multiline else " "
    return char


def optional_line(value: str | None, *, field: str, limit: int = MAX_SHORT) -> str | None:
    return clean_text(value, limit=limit, field=field, multiline=False) or None


def optional_email(value: str | None) -> str | None:
    text = (value or "").strip()
    return normalize_address(text) if text else None


def optional_url(value: str | None, *, field: str) -> str | None:
    """An http(s) link kept for staff to open; never fetched by Herald."""
    text = (value or "").strip()
    if not text:
        return None
    bad = _("Enter a link that starts with https:// or http://.")
    if len(text) > MAX_URL or any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        raise InvalidInput(bad, field=field)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise InvalidInput(bad, field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(bad, field=field)
    return text


def regions() -> list[str]:
    return list(current_app.config.get("FEEDBACK_REGIONS") or ())


def optional_region(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if text not in regions():
        raise InvalidInput(_("Choose a region from the list."), field="region")
    return text


def words(text: str) -> frozenset[str]:
    """Lower-cased word set for comparing two reports."""
    return frozenset(w for w in re.findall(r"\w+", text.casefold()) if len(w) > 2)


def public_webhook_url(value: str | None) -> str:
    """A webhook URL Herald will call: public http(s) only (checked again when sending)."""
    url = (value or "").strip()
    try:
        check_url(url, allow_loopback=current_app.config.get("CHANNELS_ALLOW_LOOPBACK", False))
    except ValueError:
        raise InvalidInput(
            _("Enter a public http:// or https:// URL; private and local addresses are refused."),
            field="webhook_url",
        ) from None
    return url
