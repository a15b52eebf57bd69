"""No text a person reads in a template escapes translation (a heuristic, see scan.py)."""

from __future__ import annotations

from .scan import templates, untranslated, visible_text

# Text that looks like words to the scan but is not read as such, per template.
ALLOWED_PER_TEMPLATE = {
    # The tone macro's output is a CSS class name (status--maintenance, status--none).
    "public/_macros.html": ["maintenance none"],
}


def test_every_template_is_scanned():
    names = {str(p.relative_to(p.parents[1])) for p in templates()}
    assert {"public/layout.html", "console/layout.html", "email/update.txt"} <= names
    assert any(n.endswith(".svg") for n in names)


def test_no_template_shows_text_outside_gettext():
    found = {
        name: [piece for piece in pieces if piece not in ALLOWED_PER_TEMPLATE.get(name, [])]
        for name, pieces in untranslated().items()
    }
    assert {name: pieces for name, pieces in found.items() if pieces} == {}


def test_the_scan_finds_plain_text_and_readable_attributes():
    source = """
    {# a comment is not shown #}
    <h1>{{ _('Translated') }}</h1>
    <p class="lead" data-x="ignored">Plain words here</p>
    <img src="/x.png" alt="A picture">
    <button aria-label="{{ _('Close') }}">&times;</button>
    <input placeholder="Type here">
    {% trans %}Block text{% endtrans %}
    <script nonce="{{ csp_nonce() }}">var notText = 1;</script>
    <span>Herald · RSS</span>
    """
    assert visible_text(source) == ["A picture", "Type here", "Plain words here"]


def test_the_scan_reads_polish_letters_as_text():
    assert visible_text("<p>Zażółć gęślą jaźń</p>") == ["Zażółć gęślą jaźń"]
