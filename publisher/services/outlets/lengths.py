"""Post lengths counted in each network's own unit, and the limits they must fit.

- X: twitter-text v3 weighted length (NFC; URLs 23; CJK and emoji 2; ZWJ emoji 2).
- Mastodon (app/validators/status_length_validator.rb): extended grapheme clusters,
  after every http(s) URL becomes 23 characters and `@user@domain` becomes `@user`.
- Bluesky (app.bsky.feed.post lexicon): text maxGraphemes 300, maxLength 3000 UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex
from flask_babel import lazy_gettext as _l
from twitter_text import extract_urls_with_indices, parse_tweet
from twitter_text.regexp.latin_accent_chars import latin_accent_chars

OUTLETS: tuple[str, ...] = (
    "status_page",
    "x",
    "mastodon",
    "bluesky",
    "email_subject",
    "email_body",
    "slack",
)
LIMITS: dict[str, int | None] = {
    "status_page": None,
    "x": 280,
    "mastodon": 500,
    "bluesky": 300,
    "email_subject": 200,
    "email_body": None,
    "slack": 3000,  # a section block's text
}
BLUESKY_MAX_BYTES = 3000
URL_LENGTH = 23  # X and Mastodon count every URL as this many characters

_GRAPHEME = regex.compile(r"\X")
# X refuses these outright (twitter-text's invalid_chars).
_X_INVALID = regex.compile("[\ufffe\ufeff\uffff]")
_HEADER_BREAKERS = regex.compile(r"[\p{Cc}\p{Zl}\p{Zp}]")
# Mastodon's Account::MENTION_RE, and twitter-text's end_mention_match: a mention
# followed by an at sign, a Latin accent or "://" is not a mention.
_MASTODON_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)(?:@[\w.-]+\w)?", regex.IGNORECASE
)
_NOT_A_MENTION_END = regex.compile(rf"[@\uff20{latin_accent_chars.pattern}]|://")


@dataclass(frozen=True)
class Measure:
    count: int
    limit: int | None
    unit: str
    ok: bool
    over_by: int
    problem: str | None = None  # why `ok` is false when the count alone fits


def grapheme_count(text: str) -> int:
    """Extended grapheme clusters (user-perceived characters)."""
    return len(_GRAPHEME.findall(text))


def x_length(text: str) -> int:
    """Weighted length by the twitter-text v3 rules."""
    return parse_tweet(text).weightedLength


def mastodon_length(text: str) -> int:
    """What Mastodon's StatusLengthValidator counts for a status text."""
    return grapheme_count(_mastodon_countable(text))


def _mastodon_countable(text: str) -> str:
    urls = [tuple(u["indices"]) for u in extract_urls_with_indices(text, False)]
    pieces, last = [], 0
    for start, end, replacement in sorted([*_url_spans(urls), *_mention_spans(text, urls)]):
        pieces += [text[last:start], replacement]
        last = end
    return "".join([*pieces, text[last:]])


def _url_spans(urls: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    return [(start, end, "x" * URL_LENGTH) for start, end in urls]


def _mention_spans(text: str, urls: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    spans = []
    for match in _MASTODON_MENTION.finditer(text):
        start, end = match.span()
        if _NOT_A_MENTION_END.match(text, end):
            continue
        if not any(start < u_end and u_start < end for u_start, u_end in urls):
            spans.append((start, end, "@" + match.group(1)))
    return spans


def _x_problem(text: str) -> str | None:
    if _X_INVALID.search(text):
        return str(_l("X refuses the characters U+FEFF, U+FFFE and U+FFFF."))
    return None


def _bluesky_problem(text: str) -> str | None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > BLUESKY_MAX_BYTES:
        return str(
            _l("Bluesky allows at most %(max)d bytes of text; this is %(size)d.")
            % {"max": BLUESKY_MAX_BYTES, "size": size}
        )
    return None


def _header_problem(text: str) -> str | None:
    if _HEADER_BREAKERS.search(text):
        return str(_l("An email subject cannot contain line breaks or control characters."))
    return None


def _no_problem(text: str) -> str | None:
    return None


_RULES: dict[str, tuple[Callable[[str], int], str, Callable[[str], str | None]]] = {
    "status_page": (len, _l("characters"), _no_problem),
    "x": (x_length, _l("weighted characters"), _x_problem),
    "mastodon": (mastodon_length, _l("characters"), _no_problem),
    "bluesky": (grapheme_count, _l("graphemes"), _bluesky_problem),
    "email_subject": (len, _l("characters"), _header_problem),
    "email_body": (len, _l("characters"), _no_problem),
    "slack": (len, _l("characters"), _no_problem),
}


def measure(outlet: str, text: str) -> Measure:
    """Length of `text` in `outlet`'s unit, against that outlet's limit."""
    if outlet not in _RULES:
        raise ValueError(f"unknown outlet {outlet!r}; expected one of {OUTLETS}")
    counter, unit, check = _RULES[outlet]
    count, limit = counter(text), LIMITS[outlet]
    over_by = max(0, count - limit) if limit is not None else 0
    problem = check(text)
    return Measure(count, limit, str(unit), not over_by and problem is None, over_by, problem)
