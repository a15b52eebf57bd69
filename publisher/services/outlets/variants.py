"""One update, every outlet: each outlet's text derived from an update's Markdown body."""

from __future__ import annotations

from collections.abc import Callable

import regex
from flask_babel import gettext as _

from ..markdown import markdown_to_text
from .lengths import measure, url_spans

ELLIPSIS = "…"
SOCIAL = ("x", "mastodon", "bluesky")

_GRAPHEME = regex.compile(r"\X")
# Control characters and line/paragraph separators (nothing that can start a header
# line), and bidi overrides and isolates (which make a subject read differently).
_HEADER_UNSAFE = regex.compile(r"[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202a-\u202e\u2066-\u2069\ufeff]+")
# Controls except newline; characters X refuses; bidi embeddings and overrides,
# which can make a post read differently from what was approved (U+202A-U+202E).
_POST_UNSAFE = regex.compile(r"[^\P{Cc}\n\t]|[\p{Cs}\ufffe\ufeff\uffff\u202a-\u202e]")
# A lone surrogate (possible from JSON "\ud800") is no text at all: not even UTF-8.
_LONE_SURROGATE = regex.compile(r"\p{Cs}")
_HORIZONTAL_SPACE = regex.compile(r"[^\S\n]+")
_BLANK_LINES = regex.compile(r"\s*\n\s*")
_SPACES = regex.compile(r"\s+")
# Never cut here: a scheme, "://" and the printable ASCII after it (links end there),
# besides the URLs twitter-text finds; for Slack, also its escapes.
_URL_LIKE = regex.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*+://[!-~]*+", regex.IGNORECASE)
_SLACK_ATOMIC = regex.compile(rf"{_URL_LIKE.pattern}|&(?:amp|lt|gt);", regex.IGNORECASE)
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
    body_markdown = _LONE_SURROGATE.sub("\ufffd", body_markdown or "")
    text = _plain_text(body_markdown)
    head = _headline(status_label, incident_name, text)
    variants = {outlet: _social_post(outlet, head, incident_url) for outlet in SOCIAL}
    variants["slack"] = _slack_text(status_label, incident_name, text, incident_url)
    variants["email_subject"] = _email_subject(page_name, status_label, incident_name)
    variants["email_body"] = _email_body(body_markdown, incident_url)
    variants["status_page"] = body_markdown
    return variants


def _plain_text(body_markdown: str) -> str:
    text = _POST_UNSAFE.sub("", markdown_to_text(body_markdown))
    return _BLANK_LINES.sub("\n", _HORIZONTAL_SPACE.sub(" ", text)).strip()


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", _POST_UNSAFE.sub("", text or "")).strip()


def _title(status_label: str, incident_name: str) -> str:
    status, name = _one_line(status_label), _one_line(incident_name)
    if not status:
        return name
    return _("[%(status)s] %(name)s", status=status, name=name).strip()


def _headline(status_label: str, incident_name: str, text: str) -> str:
    title = _title(status_label, incident_name)
    if not (title and text):
        return title or text
    return _("%(title)s: %(text)s", title=title, text=text)


def _social_post(outlet: str, head: str, url: str) -> str:
    tail = " " + url
    kept = shorten(head, lambda kept: measure(outlet, kept + tail).ok)
    return f"{kept}{tail}" if kept else url


def _slack_text(status_label: str, incident_name: str, text: str, url: str) -> str:
    title = _title(status_label, incident_name)
    title = f"*{title}*" if title else ""
    tail = "\n" + _slack_escape(url)
    head = _slack_escape("\n".join(part for part in (title, text) if part))
    kept = shorten(head, lambda kept: measure("slack", kept + tail).ok, _SLACK_ATOMIC)
    return f"{kept}{tail}" if kept else _slack_escape(url)


def _slack_escape(text: str) -> str:
    # Escaped before shortening so no cut falls inside an entity like "&amp;".
    return text.translate(_SLACK_ESCAPES)


def _email_subject(page_name: str, status_label: str, incident_name: str) -> str:
    page, status, name = map(sanitize_header_text, (page_name, status_label, incident_name))
    subject = _("%(status)s: %(name)s", status=status, name=name) if status and name else ""
    subject = subject or status or name
    if page:
        subject = _("[%(page)s] %(subject)s", page=page, subject=subject)
    subject = sanitize_header_text(subject)
    return shorten(subject, lambda kept: measure("email_subject", kept).ok)


def _email_body(body_markdown: str, url: str) -> str:
    link = _("Follow this incident: %(url)s", url=url)
    body = body_markdown.strip()
    return f"{body}\n\n{link}" if body else link


def shorten(text: str, fits: Callable[[str], bool], atomic: regex.Pattern = _URL_LIKE) -> str:
    """`text`, or its longest fitting prefix + "…", cut between words (else graphemes)."""
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
    return spans + url_spans(text)[0]


def _cut_points(text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Cut offsets after a non-space grapheme: (before a space, anywhere else)."""
    inside = bytearray(len(text) + 1)
    for start, end in spans:
        inside[start + 1 : end] = b"\x01" * max(0, end - start - 1)
    words, graphemes, previous_is_space = [], [], True
    for cluster in _GRAPHEME.finditer(text):
        is_space, start = cluster.group().isspace(), cluster.start()
        if not previous_is_space and not inside[start]:
            graphemes.append(start)
            if is_space:
                words.append(start)
        previous_is_space = is_space
    return words, graphemes


def _longest_fitting(text: str, cuts: list[int], fits: Callable[[str], bool]) -> int:
    """The largest cut whose prefix + "…" fits (0 if none).

    Galloping then binary search: probes stay near the answer's length, so a huge
    body costs little, and every returned cut was itself checked.
    """
    low, high, step = -1, len(cuts), 1
    while low + step < high and fits(text[: cuts[low + step]] + ELLIPSIS):
        low, step = low + step, step * 2
    high = min(high, low + step)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(text[: cuts[middle]] + ELLIPSIS):
            low = middle
        else:
            high = middle
    return cuts[low] if low >= 0 else 0
