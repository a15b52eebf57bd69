"""One update, every outlet: each outlet's text derived from an update's Markdown body."""

from __future__ import annotations

from collections.abc import Callable

import regex
from flask_babel import gettext as _
from twitter_text import extract_urls_with_indices

from ..markdown import markdown_to_text
from .lengths import measure

ELLIPSIS = "…"
SOCIAL = ("x", "mastodon", "bluesky")

_GRAPHEME = regex.compile(r"\X")
# Control characters, line/paragraph separators: nothing that can start a header line.
_HEADER_UNSAFE = regex.compile(r"[\p{Cc}\p{Zl}\p{Zp}]+")
# Controls except newline; characters X refuses; bidi embeddings and overrides,
# which can make a post read differently from what was approved (U+202A-U+202E).
_POST_UNSAFE = regex.compile(r"[^\P{Cc}\n\t]|[\ufffe\ufeff\uffff\u202a-\u202e]")
_HORIZONTAL_SPACE = regex.compile(r"[^\S\n]+")
_BLANK_LINES = regex.compile(r"\s*\n\s*")
_SPACES = regex.compile(r"\s+")
_URL_LIKE = regex.compile(r"\S*://\S*")
_SLACK_ATOMIC = regex.compile(r"\S*://\S*|&(?:amp|lt|gt);")
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def sanitize_header_text(text: str) -> str:
    """One line safe for a mail header: CR, LF and every other control character removed."""
    return _SPACES.sub(" ", _HEADER_UNSAFE.sub(" ", text or "")).strip()


def derive(
    body_markdown: str,
    incident_url: str,
    incident_name: str,
    page_name: str,
    status_label: str,
) -> dict[str, str]:
    """Every outlet's text for one update; each measures ok for its outlet."""
    text = _plain_text(body_markdown)
    head = _headline(status_label, incident_name, text)
    variants = {outlet: _social_post(outlet, head, incident_url) for outlet in SOCIAL}
    variants["slack"] = _slack_text(status_label, incident_name, text, incident_url)
    variants["email_subject"] = _email_subject(page_name, status_label, incident_name)
    variants["email_body"] = _email_body(body_markdown, incident_url)
    variants["status_page"] = body_markdown or ""
    return variants


def _plain_text(body_markdown: str) -> str:
    text = _POST_UNSAFE.sub("", markdown_to_text(body_markdown or ""))
    return _BLANK_LINES.sub("\n", _HORIZONTAL_SPACE.sub(" ", text)).strip()


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", _POST_UNSAFE.sub("", text or "")).strip()


def _headline(status_label: str, incident_name: str, text: str) -> str:
    status, name = _one_line(status_label), _one_line(incident_name)
    if not text:
        return _("[%(status)s] %(name)s", status=status, name=name)
    return _("[%(status)s] %(name)s: %(text)s", status=status, name=name, text=text)


def _social_post(outlet: str, head: str, url: str) -> str:
    tail = " " + url
    kept = shorten(head, lambda kept: measure(outlet, kept + tail).ok)
    return f"{kept}{tail}" if kept else url


def _slack_text(status_label: str, incident_name: str, text: str, url: str) -> str:
    status, name = _one_line(status_label), _one_line(incident_name)
    title = "*" + _("[%(status)s] %(name)s", status=status, name=name) + "*"
    tail = "\n" + url.translate(_SLACK_ESCAPES)
    head = _slack_escape(title + ("\n" + text if text else ""))
    return shorten(head, lambda kept: measure("slack", kept + tail).ok, _SLACK_ATOMIC) + tail


def _slack_escape(text: str) -> str:
    # Escaped before shortening so no cut falls inside an entity like "&amp;".
    return text.translate(_SLACK_ESCAPES)


def _email_subject(page_name: str, status_label: str, incident_name: str) -> str:
    subject = sanitize_header_text(
        _(
            "[%(page)s] %(status)s: %(name)s",
            page=sanitize_header_text(page_name),
            status=sanitize_header_text(status_label),
            name=sanitize_header_text(incident_name),
        )
    )
    return shorten(subject, lambda kept: measure("email_subject", kept).ok)


def _email_body(body_markdown: str, url: str) -> str:
    link = _("Follow this incident: %(url)s", url=url)
    body = (body_markdown or "").strip()
    return f"{body}\n\n{link}" if body else link


def shorten(text: str, fits: Callable[[str], bool], atomic: regex.Pattern = _URL_LIKE) -> str:
    """`text` if it fits, else its longest fitting prefix plus "…", cut between words
    (or, for text without spaces such as CJK, between graphemes), never inside a URL."""
    if fits(text):
        return text
    words, graphemes = _cut_points(text, _atomic_spans(text, atomic))
    by_word = _longest_fitting(text, words, fits)
    by_grapheme = _longest_fitting(text, graphemes, fits)
    # A word cut that throws away a third of what would fit reads worse than a mid-word cut.
    cut = by_word if by_word * 3 >= by_grapheme * 2 else by_grapheme
    if cut:
        return text[:cut] + ELLIPSIS
    return ELLIPSIS if fits(ELLIPSIS) else ""


def _atomic_spans(text: str, atomic: regex.Pattern) -> list[tuple[int, int]]:
    spans = [m.span() for m in atomic.finditer(text)]
    return spans + [tuple(u["indices"]) for u in extract_urls_with_indices(text)]


def _cut_points(text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Cut offsets after a non-space grapheme: (before a space, anywhere else)."""
    words, graphemes, previous_is_space = [], [], True
    for cluster in _GRAPHEME.finditer(text):
        is_space, start = cluster.group().isspace(), cluster.start()
        if not previous_is_space and not any(s < start < e for s, e in spans):
            graphemes.append(start)
            if is_space:
                words.append(start)
        previous_is_space = is_space
    return words, graphemes


def _longest_fitting(text: str, cuts: list[int], fits: Callable[[str], bool]) -> int:
    """The largest cut whose prefix + "…" fits (0 if none); binary search, each probe checked."""
    low, high = -1, len(cuts)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(text[: cuts[middle]] + ELLIPSIS):
            low = middle
        else:
            high = middle
    return cuts[low] if low >= 0 else 0
