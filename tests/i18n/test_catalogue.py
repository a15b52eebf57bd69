"""Every user-facing string is in each catalogue, translated, and keeps what the code fills in."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from .catalogue import (
    HTML_TAG,
    TRANSLATED,
    catalogue,
    extracted,
    msgid_key,
    placeholders,
    po_path,
)

LOCALES = pytest.mark.parametrize("locale", TRANSLATED)


def _entries(locale: str):
    return [m for m in catalogue(locale) if m.id]


def _forms(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def test_extraction_finds_the_strings_of_code_templates_and_emails():
    where = {place.split(":")[0].replace("\\", "/") for places in extracted().values()
             for place in places}  # fmt: skip
    assert any(p.startswith("publisher/") and p.endswith(".py") for p in where)
    assert any(p.startswith("templates/public/") for p in where)
    assert any(p.startswith("templates/console/") for p in where)
    assert any(p.startswith("templates/email/") and p.endswith(".txt") for p in where)
    assert ("%(num)d component", "%(num)d components") in extracted()
    assert "Skip to main content" in extracted()


@LOCALES
def test_every_marked_string_is_in_the_catalogue(locale):
    known = {msgid_key(m) for m in _entries(locale)}
    missing = {key: places[0] for key, places in extracted().items() if key not in known}
    assert missing == {}, f"not in the {locale} catalogue: run `make messages`, translate them"


@LOCALES
def test_every_string_has_a_translation_that_is_not_fuzzy(locale):
    needed = set(extracted())
    untranslated = [
        m.id for m in _entries(locale)
        if msgid_key(m) in needed and not all(f.strip() for f in _forms(m))
    ]  # fmt: skip
    fuzzy = [m.id for m in _entries(locale) if msgid_key(m) in needed and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@LOCALES
def test_plural_strings_have_every_plural_form_of_the_language(locale):
    cat = catalogue(locale)
    assert cat.num_plurals == 3  # Polish: 1, 2-4 (but not 12-14), 5+
    for message in _entries(locale):
        if message.pluralizable:
            assert len(_forms(message)) == cat.num_plurals, message.id


@LOCALES
def test_translations_keep_the_placeholders_of_the_original(locale):
    wrong = []
    for message in _entries(locale):
        if message.pluralizable:
            singular, plural = message.id
            allowed = placeholders(singular) | placeholders(plural)
            forms = _forms(message)
            # The "one" form may leave the number out, as English does; the others keep all.
            if not placeholders(forms[0]) <= allowed or placeholders(forms[0]) < placeholders(
                singular
            ):
                wrong.append((message.id, forms[0]))
            wrong += [(message.id, f) for f in forms[1:] if placeholders(f) != placeholders(plural)]
        elif placeholders(message.id) != placeholders(message.string):
            wrong.append((message.id, message.string))
    assert wrong == []


@LOCALES
def test_babel_finds_no_format_errors_in_the_catalogue(locale):
    with po_path(locale).open("rb") as handle:
        cat = read_po(handle, locale=locale)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check() if errors]
    assert problems == []


@LOCALES
def test_markup_in_a_string_survives_its_translation(locale):
    """HTML tags, Markdown emphasis and line breaks stay as the code expects them."""
    changed = []
    for message in _entries(locale):
        sources = message.id if message.pluralizable else (message.id,)
        for form in _forms(message):
            for source in sources[-1:]:
                if sorted(HTML_TAG.findall(source)) != sorted(HTML_TAG.findall(form)):
                    changed.append((message.id, form))
                for mark in ("*", "`", "\n", "→", "<", ">"):
                    if source.count(mark) != form.count(mark):
                        changed.append((message.id, form, mark))
    assert changed == []


def test_the_template_file_lists_what_the_code_marks():
    """messages.pot is what `make messages` last extracted: it must not fall behind."""
    with (po_path("pl").parents[2] / "messages.pot").open("rb") as handle:
        template = {msgid_key(m) for m in read_po(handle) if m.id}
    assert set(extracted()) - template == set()
