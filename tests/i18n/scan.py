"""Find text a person would read in a template that does not go through gettext.

A heuristic: Jinja comments, tags and expressions are removed (so `{{ _('...') }}`
and `{% trans %}` blocks count as translated), then HTML comments, <script> and
<style> contents and every tag, keeping only the attributes people read or hear
(alt, title, aria-label, placeholder...). What is left and contains a letter is
text that no catalogue will ever translate.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SUFFIXES = (".html", ".txt", ".svg")

# Text that is the same in every language: names, symbols, machine formats.
ALLOWED = {
    "Herald",  # the product's name
    "English",  # the language switcher names each language in that language
    "Polski",
    "RSS",
    "Atom",
    "JSON",
    "UTC",
    "X",
    "Mastodon",
    "Bluesky",
    "Slack",
    "Markdown",
}
VISIBLE_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder", "aria-description", "label")

_TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA_COMMENT = re.compile(r"{#.*?#}", re.S)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_RAW_ELEMENT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*')""")
_LETTER = regex.compile(r"\p{L}")


def templates() -> Iterator[Path]:
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in SUFFIXES and path.is_file():
            yield path


def visible_text(source: str) -> list[str]:
    """The pieces of a template's text a reader would see that are not translated."""
    text = _JINJA_COMMENT.sub(" ", source)
    text = _TRANS_BLOCK.sub(" ", text)
    # An expression inside an attribute is gone after this, so `alt="{{ _('x') }}"` is empty.
    text = _JINJA.sub(" ", text)
    text = _HTML_COMMENT.sub(" ", text)
    text = _RAW_ELEMENT.sub(" ", text)
    pieces: list[str] = []
    for attribute in _ATTRIBUTE.finditer(" ".join(_TAG.findall(text))):
        if attribute.group(1).lower() in VISIBLE_ATTRIBUTES:
            pieces.append(attribute.group(2)[1:-1])
    pieces.extend(_TAG.split(text))
    return [piece for piece in map(_clean, pieces) if _needs_translation(piece)]


def _clean(piece: str) -> str:
    return " ".join(html.unescape(piece).split())


def _needs_translation(piece: str) -> bool:
    if not _LETTER.search(piece):
        return False
    words = [w for w in regex.split(r"[^\p{L}\p{N}]+", piece) if _LETTER.search(w)]
    return any(word not in ALLOWED for word in words)


def untranslated() -> dict[str, list[str]]:
    """Template path (relative to templates/) to its untranslated pieces."""
    found = {}
    for path in templates():
        pieces = visible_text(path.read_text(encoding="utf-8"))
        if pieces:
            found[str(path.relative_to(TEMPLATES))] = pieces
    return found
