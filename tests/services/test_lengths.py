import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twitter_text import extract_urls_with_indices, parse_tweet

from publisher.services.outlets.lengths import (
    LIMITS,
    OUTLETS,
    grapheme_count,
    mastodon_length,
    measure,
    url_spans,
    x_length,
)

from ..corpus import lines

FAMILY = "👩\u200d👩\u200d👧\u200d👦"
ZALGO_E = "e" + "\u030a" * 20
LONG_URL = "https://example.com/" + "a" * 600


def test_every_outlet_has_a_limit_entry_and_a_place_in_the_display_order():
    assert (
        set(LIMITS)
        == set(OUTLETS)
        == {
            "x",
            "mastodon",
            "bluesky",
            "slack",
            "email_subject",
            "email_body",
            "status_page",
        }
    )
    assert len(OUTLETS) == len(set(OUTLETS))


def test_an_unknown_outlet_is_refused():
    with pytest.raises(ValueError):
        measure("myspace", "hello")


def test_each_outlet_names_its_own_unit():
    assert measure("x", "a").unit == "weighted characters"
    assert measure("mastodon", "a").unit == "characters"
    assert measure("bluesky", "a").unit == "graphemes"
    assert measure("slack", "a").unit == "characters"


# X: twitter-text v3


def test_x_fits_280_ascii_characters_and_not_281():
    assert measure("x", "a" * 280).ok
    over = measure("x", "a" * 281)
    assert (over.ok, over.count, over.limit, over.over_by) == (False, 281, 280, 1)


def test_x_counts_a_long_url_as_23():
    assert x_length(LONG_URL) == 23
    assert x_length(f"see {LONG_URL} now") == len("see  now") + 23


def test_x_counts_a_url_without_a_scheme_as_23_too():
    assert x_length("example.com") == 23


def test_x_counts_cjk_characters_as_two_each():
    assert x_length("障") == 2
    assert measure("x", "障" * 140).ok
    assert measure("x", "障" * 140).count == 280
    assert measure("x", "障" * 141).over_by == 2


def test_x_counts_an_emoji_as_two():
    assert x_length("😷") == 2
    assert x_length("👍🏽") == 2  # with a skin-tone modifier


def test_x_counts_a_family_zwj_sequence_as_two():
    assert x_length(FAMILY) == 2


def test_x_counts_after_nfc_normalisation():
    assert x_length("e\u0301") == x_length("é") == 1


def test_x_refuses_byte_order_marks_whatever_the_length():
    result = measure("x", "hello\ufeff")
    assert not result.ok and result.over_by == 0 and result.problem


@pytest.mark.parametrize(
    "text",
    [
        "english text 日本語 😷 https://example.com",
        "Outage on api.example.com and www.example.org/status?x=1, see https://t.co/abc",
        "line one\r\nline two\rthree\n",
        "v1.2.3 rolled back at 14:30 UTC; details: http://example.com/a(b)c.",
        "詳細はhttps://example.com/xをご覧ください。3.5時間",
        "@alice #incident $TICK mail ops@example.com",
    ],
)
def test_x_length_agrees_with_twitter_text_on_everyday_text(text):
    assert x_length(text) == parse_tweet(text).weightedLength


URL_PIECES = st.sampled_from(
    [
        " ",
        "\n",
        "\r\n",
        "\r",
        "\xa0",
        "\u3000",
        ".",
        "://",
        "https",
        "http",
        "@",
        "#",
        "a",
        "b.co",
        "é",
        "\u030a",
        "\u200d",
        "障",
        "👩",
        "🏽",
        "️",
        "\u202e",
        "&",
        "(",
        ")",
        "/",
        "-",
        "?",
        "=",
        ",",
        ":",
        "t.co/",
        "example.com",
        "日本.jp",
        "e\u0301",
    ]
)


@given(st.lists(URL_PIECES, max_size=60).map("".join))
def test_x_length_and_url_spans_agree_with_twitter_text_scanning_the_whole_text(text):
    assert x_length(text) == parse_tweet(text).weightedLength
    expected = sorted(tuple(u["indices"]) for u in extract_urls_with_indices(text))
    assert sorted(url_spans(text)[0]) == expected
    with_scheme = sorted(tuple(u["indices"]) for u in extract_urls_with_indices(text, False))
    assert sorted(url_spans(text, require_protocol=True)[0]) == with_scheme


@pytest.mark.parametrize("text", ["b." * 40, "障害3.5" * 60, "é" * 300 + ".example.com"])
def test_x_never_counts_less_than_twitter_text_on_text_too_costly_to_scan(text):
    assert x_length(text) >= parse_tweet(text).weightedLength


@pytest.mark.parametrize(
    "text",
    ["b." * 5000, "障害3.5" * 4000, "é" * 20000 + ".x", "障" * 20000 + " https://a.example.com"],
)
@pytest.mark.parametrize("outlet", ["x", "mastodon"])
def test_measuring_text_that_makes_url_patterns_backtrack_stays_fast(outlet, text):
    started = time.perf_counter()
    measure(outlet, text)
    assert time.perf_counter() - started < 10  # backtracking would take minutes


@pytest.mark.parametrize("outlet", OUTLETS)
def test_a_lone_surrogate_is_measured_but_never_ok(outlet):
    result = measure(outlet, "broken \ud800 text")
    assert result.count > 0 and not result.ok and result.problem


# Mastodon: StatusLengthValidator


def test_mastodon_counts_a_600_character_url_as_23():
    assert mastodon_length(LONG_URL) == 23
    assert measure("mastodon", "x" * 476 + " " + LONG_URL).ok
    assert not measure("mastodon", "x" * 477 + " " + LONG_URL).ok


def test_mastodon_counts_only_urls_with_a_scheme_as_23():
    assert mastodon_length("example.com") == len("example.com")


def test_mastodon_fits_500_characters_and_not_501():
    assert measure("mastodon", "a" * 500).ok
    assert measure("mastodon", "a" * 501).over_by == 1


def test_mastodon_counts_a_remote_mention_by_its_username_only():
    assert mastodon_length("hi @alice@social.example.org") == len("hi @alice")
    assert mastodon_length("mail me: bob@example.org") == len("mail me: bob@example.org")


def test_mastodon_counts_grapheme_clusters():
    assert mastodon_length(FAMILY) == 1
    assert mastodon_length(ZALGO_E) == 1


# Bluesky: app.bsky.feed.post text


def test_bluesky_fits_300_graphemes_and_not_301():
    assert measure("bluesky", "a" * 300).ok
    assert measure("bluesky", "a" * 301).over_by == 1


def test_bluesky_counts_emoji_families_as_single_graphemes():
    assert measure("bluesky", FAMILY * 120).count == 120
    assert measure("bluesky", FAMILY * 120).ok  # 3,000 bytes: 25 per family
    assert measure("bluesky", FAMILY * 300).over_by == 0  # 300 graphemes, but too many bytes


def test_bluesky_counts_a_long_url_in_full():
    assert measure("bluesky", LONG_URL).count == len(LONG_URL)


def test_bluesky_also_refuses_more_than_3000_bytes_of_text():
    text = ZALGO_E * 100  # 100 graphemes, 4,100 UTF-8 bytes
    result = measure("bluesky", text)
    assert result.count == 100 and not result.ok and result.problem


# Slack, email and the status page


def test_slack_section_text_fits_3000_characters_and_not_3001():
    assert measure("slack", "a" * 3000).ok
    assert measure("slack", "a" * 3001).over_by == 1


def test_an_email_subject_fits_200_characters_and_not_201():
    assert measure("email_subject", "a" * 200).ok
    assert not measure("email_subject", "a" * 201).ok


@pytest.mark.parametrize("breaker", ["\r", "\n", "\x85", "\u2028", "\x00"])
def test_an_email_subject_with_a_line_break_or_control_character_is_refused(breaker):
    result = measure("email_subject", f"Outage{breaker}Bcc: victim@example.invalid")
    assert not result.ok and result.problem


@pytest.mark.parametrize("outlet", ["status_page", "email_body"])
def test_the_status_page_and_email_body_have_no_hard_limit(outlet):
    result = measure(outlet, "a" * 100_000)
    assert (result.ok, result.limit, result.over_by) == (True, None, 0)


# The Unicode corpus


@pytest.mark.parametrize("line", lines("unicode.txt"))
@pytest.mark.parametrize("outlet", OUTLETS)
def test_every_unicode_corpus_line_is_measured_sanely_by_every_outlet(outlet, line):
    result = measure(outlet, line)
    assert 0 < result.count <= 2 * len(line)
    assert result.ok  # every line is short
    if outlet == "bluesky":
        assert result.count == grapheme_count(line) <= len(line)


def test_corpus_emoji_line_counts_in_each_networks_unit():
    line = next(ln for ln in lines("unicode.txt") if ln.startswith(FAMILY))
    assert measure("x", FAMILY).count == 2
    assert measure("bluesky", FAMILY).count == 1
    # Family, technologist with skin tone, rainbow flag, Polish flag: four of each.
    assert measure("bluesky", line).count == 4
    assert measure("mastodon", line).count == 4
    assert measure("x", line).count == 8


def test_corpus_combining_sequence_is_one_grapheme():
    assert ZALGO_E in lines("unicode.txt")
    assert measure("bluesky", ZALGO_E).count == 1
    assert measure("mastodon", ZALGO_E).count == 1
    assert measure("x", ZALGO_E).count == 21  # X weighs each combining ring
