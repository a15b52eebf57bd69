"""Hostile inputs from ../shared/corpus (one per line; '#' lines and blanks are comments)."""

from __future__ import annotations

import codecs
import os
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

# shared/ sits beside the checkout (here and in CI); HERALD_SHARED_DIR overrides.
SHARED_DIR = Path(
    os.environ.get("HERALD_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)
CORPUS_DIR = SHARED_DIR / "corpus"

DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster"}


@cache
def lines(name: str) -> list[str]:
    text = (CORPUS_DIR / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def header_lines() -> list[str]:
    """header.txt decoded as its comment says (unicode_escape: \\r, \\n, \\u2028, \\x85...)."""
    return [codecs.decode(line, "unicode_escape") for line in lines("header.txt")]


class _MarkupAudit(HTMLParser):
    """Collects what a browser would execute: script elements, handlers, script URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed"):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name in URL_ATTRIBUTES and url.startswith(DANGEROUS_SCHEMES):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def assert_harmless_html(html: str) -> None:
    """Parse the output as a browser would and fail on anything executable."""
    audit = _MarkupAudit()
    audit.feed(html)
    audit.close()
    assert not audit.problems, f"executable markup {audit.problems} in {html[:400]!r}"
