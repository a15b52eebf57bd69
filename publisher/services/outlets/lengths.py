"""Post lengths counted in each network's own unit, and the limits they must fit.

- X: twitter-text v3 weighted length (NFC; URLs 23; CJK and emoji 2; ZWJ emoji 2).
- Mastodon (app/validators/status_length_validator.rb): extended grapheme clusters,
  after every http(s) URL becomes 23 characters and `@user@domain` becomes `@user`.
- Bluesky (app.bsky.feed.post lexicon): text maxGraphemes 300, maxLength 3000 UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import regex
from flask_babel import lazy_gettext as _l
from twitter_text import extract_urls_with_indices, parse_tweet
from twitter_text.regexp.latin_accent_chars import latin_accent_chars
from twitter_text.regexp.spaces_group import spaces_group

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
_LONE_SURROGATE = regex.compile(r"\p{Cs}")  # from JSON "\ud800": not encodable, not sendable
_TOKEN = regex.compile(rf"[^{spaces_group}]+")  # twitter-text's idea of a word
_NON_ASCII = regex.compile(r"[^\x00-\x7f]")
_MAX_NON_ASCII = 200  # twitter-text scans 200 such characters in a few milliseconds
_LABEL_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"  # not ASCII punctuation
_MANY_LABELS = regex.compile(rf"(?<!{_LABEL_CHAR})(?:{_LABEL_CHAR}++\.){{16}}")
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
    """Weighted length by the twitter-text v3 rules (an upper bound for costly input)."""
    return sum(_x_piece_length(piece) for piece in _x_pieces(text))


def _x_pieces(text: str) -> Iterator[str]:
    # URLs never span spaces, so lengths add up over the tokens that hold a dot (where
    # a URL may be), each with the spaces before it, and the dot-free text between.
    last = 0
    for start, word in _spaced_tokens(text):
        if "." in word:
            yield text[last:start]
            yield word
            last = start + len(word)
    yield text[last:]


def _spaced_tokens(text: str) -> Iterator[tuple[int, str]]:
    """Each space-free token with the spaces before it: twitter-text reads a URL's
    first character differently at the start of a text and after a space."""
    previous_end = 0
    for token in _TOKEN.finditer(text):
        yield previous_end, text[previous_end : token.end()]
        previous_end = token.end()


def _x_piece_length(piece: str) -> int:
    if "." in piece and too_costly_to_scan(piece):
        # Scanned as text, plus one URL's worth per dot: never less than X counts.
        return parse_tweet(piece.replace(".", ",")).weightedLength + URL_LENGTH * piece.count(".")
    return parse_tweet(piece).weightedLength


def too_costly_to_scan(token: str) -> bool:
    """Whether twitter-text's URL pattern would backtrack for long on this token.

    Its domain pattern is quadratic in runs of non-ASCII letters and cubic in runs
    of dotted labels ("b.b.b..."): seconds for a few thousand characters.
    """
    return len(_NON_ASCII.findall(token)) > _MAX_NON_ASCII or bool(_MANY_LABELS.search(token))


def url_spans(text: str, *, require_protocol: bool = False) -> tuple[list[tuple[int, int]], int]:
    """Where twitter-text finds URLs, and how many may hide in tokens too costly to scan."""
    spans, hidden = [], 0
    for offset, word in _spaced_tokens(text):
        if "." not in word or (require_protocol and "://" not in word):
            continue
        if too_costly_to_scan(word):
            hidden += word.count("://") if require_protocol else word.count(".")
            continue
        found = extract_urls_with_indices(word, not require_protocol)
        spans += [(offset + u["indices"][0], offset + u["indices"][1]) for u in found]
    return spans, hidden


def mastodon_length(text: str) -> int:
    """What Mastodon's StatusLengthValidator counts for a status text (an upper bound
    when a URL may hide in a token too costly to scan)."""
    urls, hidden = url_spans(text, require_protocol=True)
    return grapheme_count(_mastodon_countable(text, urls)) + URL_LENGTH * hidden


def _mastodon_countable(text: str, urls: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end, replacement in sorted(
        [*_url_placeholders(urls), *_mention_placeholders(text, urls)]
    ):
        pieces += [text[last:start], replacement]
        last = end
    return "".join([*pieces, text[last:]])


def _url_placeholders(urls: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    return [(start, end, "x" * URL_LENGTH) for start, end in urls]


def _mention_placeholders(text: str, urls: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
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


def _without_lone_surrogates(text: str) -> tuple[str, str | None]:
    if not _LONE_SURROGATE.search(text):
        return text, None
    problem = str(_l("The text holds invalid Unicode (a lone surrogate)."))
    return _LONE_SURROGATE.sub("\ufffd", text), problem


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
    text, problem = _without_lone_surrogates(text)
    count, limit = counter(text), LIMITS[outlet]
    over_by = max(0, count - limit) if limit is not None else 0
    problem = problem or check(text)
    return Measure(count, limit, str(unit), not over_by and problem is None, over_by, problem)
