"""The message catalogues as the tests see them: extracted in-process, read from the .po."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from publisher.config import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "publisher" / "translations"
MAPPING = TRANSLATIONS / "babel.cfg"
# The same keywords `make messages` passes to pybabel (-k).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
# The languages that need a catalogue: the default one is the source text itself.
TRANSLATED = SUPPORTED_LOCALES[1:]

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


@cache
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Every message marked in publisher/ and templates/ -> where it is (file:line)."""
    with MAPPING.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(MAPPING))
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def msgid_key(message) -> str | tuple[str, ...]:
    return message.id if isinstance(message.id, str) else tuple(message.id)


@cache
def catalogue(locale: str) -> Catalog:
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def compile_if_stale(locale: str) -> Path:
    """Build the .mo the app reads from the .po when it is missing or older (as `make`
    does), so `pytest tests/i18n` alone sees the catalogue as it is in the tree."""
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source:
            compiled = read_po(source, locale=locale)
        partial = mo.with_suffix(".mo.tmp")
        with partial.open("wb") as target:
            write_mo(target, compiled)
        partial.replace(mo)
    return mo
