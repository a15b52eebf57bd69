import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.services.markdown import markdown_to_text
from publisher.services.outlets import OUTLETS, derive, measure, sanitize_header_text

from ..corpus import header_lines, lines

URL = "https://status.example.com/incidents/01HZX4K2Q8"
SOCIAL = ("x", "mastodon", "bluesky")
FAMILY = "👩\u200d👩\u200d👧\u200d👦"
PARAGRAPH = (
    "We are **investigating** elevated error rates on checkout for customers in the EU. "
    "Payments may fail or take longer than usual; retrying usually works. "
    "Our engineers have identified a faulty deploy and are rolling it back now."
)
RENDERED_TAGS = regex.compile(r"</?(p|strong|em|a|ul|ol|li|code|pre|blockquote|h\d)\b|rel=")

LONG_BODIES = {
    "five paragraphs": "\n\n".join([PARAGRAPH] * 5),
    "emoji": "🔥😷👍🏽🏳️\u200d🌈🇵🇱 " * 200 + FAMILY * 300,
    "cjk": "障害が発生しています。現在調査中です。" * 100,
    "long urls": " ".join(f"See https://example.com/{'a' * 600}/{n} for more." for n in range(8)),
    "one long word": "x" * 10_000,
    "zalgo": ("e" + "\u030a" * 20 + " ") * 200,
    "markdown list": "\n".join(f"- [component {n}](https://example.com/c/{n})" for n in range(300)),
}
CORPUS = [*lines("xss.txt"), *lines("template.txt"), *lines("unicode.txt")]


def derive_for(body, name="Checkout errors", page="Example Status", status="Identified"):
    return derive(body, URL, name, page, status)


def assert_every_variant_fits(variants):
    assert set(variants) == set(OUTLETS)
    for outlet, text in variants.items():
        result = measure(outlet, text)
        assert result.ok, (outlet, result, text[:200])


def head_of(post):
    assert post.endswith(" " + URL) or post == URL
    return post[: -len(URL)].rstrip(" ")


@pytest.mark.parametrize("body", LONG_BODIES.values(), ids=LONG_BODIES.keys())
def test_every_variant_of_a_long_body_fits_its_outlet(body):
    assert_every_variant_fits(derive_for(body))


@pytest.mark.parametrize("line", CORPUS)
def test_every_variant_of_a_body_repeating_a_corpus_line_fits_its_outlet(line):
    variants = derive_for("\n\n".join([line] * 60), name=line)
    assert_every_variant_fits(variants)


@pytest.mark.parametrize("body", [PARAGRAPH, *LONG_BODIES.values(), *CORPUS])
def test_social_posts_end_with_the_incident_url_intact(body):
    variants = derive_for(body)
    for outlet in SOCIAL:
        assert variants[outlet].endswith(" " + URL)
        assert variants[outlet].count(URL) == 1


@pytest.mark.parametrize("body", [PARAGRAPH, LONG_BODIES["markdown list"], *lines("xss.txt")])
def test_no_variant_carries_tags_from_the_markdown_rendering(body):
    variants = derive_for(body)
    typed = markdown_to_text(body)  # what the author typed literally, shown as text
    for outlet in (*SOCIAL, "slack", "email_subject"):
        assert not RENDERED_TAGS.search(variants[outlet].replace(typed, "")), outlet


def test_social_posts_lead_with_the_status_and_incident_name():
    variants = derive_for("We are rolling back.")
    assert variants["x"] == f"[Identified] Checkout errors: We are rolling back. {URL}"


def test_a_body_that_fits_is_not_shortened():
    variants = derive_for(PARAGRAPH)
    for outlet in SOCIAL:
        assert variants[outlet] == (
            f"[Identified] Checkout errors: {markdown_to_text(PARAGRAPH)} {URL}"
        )


def test_a_long_body_is_cut_at_a_word_boundary_with_an_ellipsis():
    full = "[Identified] Checkout errors: " + " ".join([markdown_to_text(PARAGRAPH)] * 5)
    for outlet in SOCIAL:
        head = head_of(derive_for("\n\n".join([PARAGRAPH] * 5))[outlet])
        assert head.endswith("…")
        kept = head[:-1]
        assert full.replace("\n", " ").startswith(kept.replace("\n", " "))
        assert full[len(kept)] == " "  # the next character was a space: a whole word was kept


def test_text_without_spaces_is_cut_between_graphemes():
    head = head_of(derive_for(LONG_BODIES["cjk"])["x"])
    assert head.endswith("…") and measure("x", head).count > 200


@pytest.mark.parametrize(
    "body",
    [FAMILY * 500, ("e" + "\u030a" * 20) * 300, "🇵🇱🇩🇪" * 300, "ก้ำ" * 400],
    ids=["zwj families", "combining rings", "flags", "thai marks"],
)
def test_shortening_never_splits_a_grapheme_cluster(body):
    full = "[Identified] Checkout errors: " + body
    clusters = regex.findall(r"\X", full)
    for outlet in (*SOCIAL, "slack"):
        text = derive_for(body)[outlet]
        kept = text[: text.index("…")] if "…" in text else ""
        kept = kept.removeprefix("*[Identified] Checkout errors*\n")
        kept_clusters = regex.findall(r"\X", kept)
        expected = clusters if kept.startswith("[") else regex.findall(r"\X", body)
        assert kept_clusters == expected[: len(kept_clusters)], outlet


def test_shortening_never_cuts_inside_a_url_in_the_body():
    link = "https://example.com/docs/" + "a" * 120
    body = ("word " * 40 + link + " ") * 3
    for outlet in (*SOCIAL, "slack"):
        text = derive_for(body)[outlet]
        for fragment in regex.findall(r"https://example\.com/\S*", text):
            assert fragment == link or fragment == link + "…", outlet


@pytest.mark.parametrize("hostile", header_lines())
def test_an_email_subject_never_holds_a_line_break(hostile):
    subject = derive_for(PARAGRAPH, name=hostile, page=hostile, status=hostile)["email_subject"]
    assert not regex.search(r"[\r\n\x85\u2028\u2029\x00-\x1f]", subject)
    assert measure("email_subject", subject).ok


@pytest.mark.parametrize("hostile", header_lines())
def test_sanitized_header_text_is_one_line(hostile):
    clean = sanitize_header_text(hostile)
    assert clean.splitlines() == [clean]
    assert "Bcc:" not in hostile or "Bcc:" in clean  # the text stays, on the same line


def test_an_email_subject_names_the_page_status_and_incident():
    subject = derive_for(PARAGRAPH)["email_subject"]
    assert subject == "[Example Status] Identified: Checkout errors"


def test_a_long_email_subject_is_shortened_to_200_characters():
    subject = derive_for(PARAGRAPH, name="Checkout errors " * 30)["email_subject"]
    assert len(subject) <= 200 and subject.endswith("…")


@pytest.mark.parametrize("template", lines("template.txt"))
def test_template_syntax_comes_out_literally(template):
    variants = derive_for(template, name=template, page=template, status=template)
    for outlet, text in variants.items():
        assert "49" not in text or "49" in template, outlet
        assert "<class" not in text and " at 0x" not in text, outlet
    assert "{{7*7}}" in derive_for("{{7*7}}", name="{{7*7}}")["x"].replace("{{7*7}}: ", "")


def test_the_status_page_gets_the_markdown_body_unchanged():
    body = "\n\n".join([PARAGRAPH] * 5)
    assert derive_for(body)["status_page"] == body


def test_the_email_body_is_the_markdown_body_and_a_link_line():
    text = derive_for(PARAGRAPH)["email_body"]
    assert text.startswith(PARAGRAPH) and text.rstrip().endswith(URL)


def test_slack_text_escapes_what_slack_would_read_as_markup():
    text = derive_for("Hi <!channel> & <https://evil.example|click>")["slack"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt; &amp;" in text


def test_bidi_overrides_are_dropped_from_social_posts():
    line = next(ln for ln in lines("unicode.txt") if "\u202e" in ln)
    for outlet in SOCIAL:
        assert "\u202e" not in derive_for(line, name=line)[outlet]


def test_an_empty_body_still_gives_a_post_with_the_url():
    variants = derive_for("")
    assert variants["x"] == f"[Identified] Checkout errors {URL}"
    assert_every_variant_fits(variants)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.text(), name=st.text(max_size=300), status=st.text(max_size=40))
def test_derive_never_raises_and_every_variant_fits(body, name, status):
    variants = derive(body, URL, name, "Example Status", status)
    assert_every_variant_fits(variants)
    for outlet in SOCIAL:
        assert variants[outlet].endswith(URL)
    assert "\r" not in variants["email_subject"] and "\n" not in variants["email_subject"]


TRICKY = st.sampled_from(
    [
        " ",
        "\n",
        "\r\n",
        ".",
        "://",
        "https",
        "@",
        "a",
        "b.co",
        "é",
        "\u030a",
        "\u200d",
        "障",
        "👩",
        "🏽",
        "🇵",
        "️",
        "ก้",
        "\x00",
        "\x85",
        "\u2028",
        "\u202e",
        "\ufeff",
        "\ud800",
        "&",
        "<",
        "*",
        "_",
        "#",
        "[",
        "](",
        ")",
        "{{7*7}}",
    ]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(TRICKY, max_size=600).map("".join),
    name=st.text(st.characters(exclude_categories=()), max_size=80),
)
def test_derive_fits_every_outlet_for_long_text_built_from_tricky_pieces(body, name):
    variants = derive(body, URL, name, name, "Identified")
    assert_every_variant_fits(variants)
    for outlet in SOCIAL:
        assert variants[outlet].endswith(" " + URL) and variants[outlet].count(URL) == 1
