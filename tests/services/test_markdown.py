import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.services.markdown import markdown_to_text, render_markdown

from ..corpus import assert_harmless_html, lines


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_markdown_renders_without_executable_markup(hostile):
    assert_harmless_html(str(render_markdown(hostile)))


@pytest.mark.parametrize("hostile", lines("template.txt"))
def test_template_syntax_in_a_body_comes_out_literally(hostile):
    text = markdown_to_text(hostile)
    assert "49" not in text or "49" in hostile  # {{7*7}} is never computed
    assert "<class" not in text and " at 0x" not in text  # no Python object leaks
    # Only Markdown emphasis (__x__ is bold) may change; every brace stays literal.
    assert text.replace("_", "") == hostile.strip().replace("_", "")


def test_links_keep_only_safe_schemes():
    html = str(render_markdown("[a](https://example.com) [b](mailto:x@example.com) [c](ftp://x)"))
    assert 'href="https://example.com"' in html
    assert 'href="mailto:x@example.com"' in html
    assert 'href="ftp' not in html


def test_raw_html_is_shown_as_text_not_markup():
    html = str(render_markdown("<b>bold</b>"))
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_plain_text_of_a_body_has_no_tags():
    assert markdown_to_text("We are **investigating** <i>now</i>") == (
        "We are investigating <i>now</i>"
    )


@given(st.text(max_size=300))
def test_any_text_renders_harmless_and_cleaning_is_idempotent(text):
    html = str(render_markdown(text))
    assert_harmless_html(html)
    import nh3

    from publisher.services import markdown as md

    again = nh3.clean(
        html,
        tags=md.ALLOWED_TAGS,
        attributes=md.ALLOWED_ATTRIBUTES,
        url_schemes=md.ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    assert again == html
