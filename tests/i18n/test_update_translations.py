"""Updates carry a translation per configured language: reviewed with the update, shown
to visitors in their language (else the original), and in per-language feeds."""

from __future__ import annotations

import re

import feedparser
import pytest

from publisher.models import MessageState, Role
from publisher.services import composer
from publisher.services.errors import InvalidInput

from ..corpus import assert_harmless_html, lines
from ..staff import make_user

POLISH = {"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
ORIGINAL = "We found the cause and are deploying a fix."
TRANSLATED = "Znaleźliśmy przyczynę i wdrażamy poprawkę."
# Herald's own scripts (files from /static, with the page's nonce); anything else is injected.
HERALD_SCRIPTS = re.compile(r'<script nonce="[^"]+" src="/static/[^"<>]+" defer></script>')


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in Role}


@pytest.fixture
def incident(make):
    return make.incident(name="Slow API", components=[make.component("API")])


def draft(team, incident, body=ORIGINAL, translations=None):
    return composer.create_draft(
        team[Role.COMMS_MANAGER],
        incident,
        incident_status="identified",
        body=body,
        translations=translations if translations is not None else {"pl": TRANSLATED},
    )


def approve(team, message):
    composer.submit(team[Role.COMMS_MANAGER], message)
    composer.approve(
        team[Role.INCIDENT_MANAGER], message, expected_hash=composer.content_hash(message)
    )
    return message


def published(team, incident, **kwargs):
    message = approve(team, draft(team, incident, **kwargs))
    composer.publish(team[Role.COMMS_MANAGER], message)
    return message


# ---------------------------------------------------------------- review


def test_a_translation_is_part_of_the_content_the_approval_binds_to(team, incident):
    message = draft(team, incident)
    with_translation = composer.content_hash(message)
    composer.edit_message(team[Role.COMMS_MANAGER], message, translations={"pl": "Inny tekst."})
    assert composer.content_hash(message) != with_translation


def test_editing_a_translation_after_approval_returns_the_update_to_draft(team, incident):
    message = approve(team, draft(team, incident))
    assert message.state == MessageState.APPROVED
    composer.edit_message(team[Role.COMMS_MANAGER], message, translations={"pl": "Poprawka."})
    assert message.state == MessageState.DRAFT and message.approved_hash is None
    assert [(t.locale, t.body) for t in message.translations] == [("pl", "Poprawka.")]


def test_removing_a_translation_after_approval_returns_the_update_to_draft(team, incident):
    message = approve(team, draft(team, incident))
    composer.edit_message(team[Role.COMMS_MANAGER], message, translations={"pl": "  "})
    assert message.state == MessageState.DRAFT and message.translations == []


def test_an_unchanged_translation_keeps_the_approval(team, incident):
    message = approve(team, draft(team, incident))
    composer.edit_message(team[Role.COMMS_MANAGER], message, translations={"pl": TRANSLATED})
    assert message.state == MessageState.APPROVED


def test_only_configured_other_languages_can_be_translated_into(team, incident):
    for locale in ("en", "de", "", "pl-PL"):
        with pytest.raises(InvalidInput):
            draft(team, incident, translations={locale: "text"})


def test_a_revision_starts_from_the_published_translations(team, incident):
    message = published(team, incident)
    revision = composer.start_revision(team[Role.COMMS_MANAGER], message)
    assert [(t.locale, t.body) for t in revision.translations] == [("pl", TRANSLATED)]


# ---------------------------------------------------------------- what visitors see


def page(client, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_polish_visitor_reads_the_polish_text_and_an_english_one_the_original(
    app, team, incident
):
    published(team, incident)
    for path in ("/", f"/incidents/{incident.public_id}"):
        polish = page(app.test_client(), path, POLISH)
        english = page(app.test_client(), path, ENGLISH)
        assert TRANSLATED in polish and ORIGINAL not in polish
        assert ORIGINAL in english and TRANSLATED not in english
        assert 'lang="en"' not in english.split("<body", 1)[1].split("language-switcher")[0]


def test_without_a_translation_the_original_is_shown_marked_with_its_language(
    client, team, incident
):
    published(team, incident, translations={})
    polish = page(client, f"/incidents/{incident.public_id}", POLISH)
    assert f'<div class="prose" lang="en"><p>{ORIGINAL}</p>' in polish


def test_a_translation_in_review_or_approved_never_reaches_a_public_output(
    app, client, team, incident
):
    approved = approve(team, draft(team, incident, translations={"pl": "Tajny szkic."}))
    revision_of = published(team, incident, body="Public text.", translations={"pl": "Jawny."})
    revision = composer.start_revision(team[Role.COMMS_MANAGER], revision_of)
    composer.edit_message(
        team[Role.COMMS_MANAGER], revision, translations={"pl": "Tajna poprawka."}
    )
    assert approved.state == MessageState.APPROVED
    paths = ["/", f"/incidents/{incident.public_id}", "/history"]
    paths += ["/history.atom?lang=pl", "/history.rss?lang=pl", "/history.atom"]
    paths += ["/api/v2/incidents.json", "/api/v2/summary.json"]
    for path in paths:
        text = page(app.test_client(), path, POLISH)
        assert "Tajny" not in text and "Tajna" not in text, path
    assert "Jawny." in page(client, f"/incidents/{incident.public_id}", POLISH)


def test_the_json_api_keeps_the_original_text(client, team, incident):
    published(team, incident)
    text = page(client, "/api/v2/incidents.json", POLISH)
    assert ORIGINAL in text and TRANSLATED not in text


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_text_in_a_translation_is_harmless(app, team, incident, hostile):
    published(team, incident, translations={"pl": hostile})
    for path in ("/", f"/incidents/{incident.public_id}"):
        assert_harmless_html(HERALD_SCRIPTS.sub("", page(app.test_client(), path, POLISH)))
    raw = app.test_client().get("/history.atom?lang=pl").data
    assert b"<script" not in raw.lower()
    assert feedparser.parse(raw).entries


# ---------------------------------------------------------------- feeds per language


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize(
    "asked",
    [{"query_string": {"lang": "pl"}}, {"headers": POLISH}],
    ids=["lang-parameter", "accept-language"],
)
def test_a_polish_feed_is_polish_throughout_whether_asked_by_parameter_or_by_the_browser(
    client, team, incident, fmt, asked
):
    """Accept-Language alone used to give Polish titles and labels around English updates."""
    published(team, incident)
    polish = feedparser.parse(client.get(f"/history.{fmt}", **asked).data)
    assert not polish.bozo
    assert polish.feed.language == "pl" and polish.feed.title == "Example Status \u2013 status"
    entry = polish.entries[0].description
    assert TRANSLATED in entry and "Zidentyfikowano" in entry
    assert ORIGINAL not in entry and "Identified" not in entry


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("headers", [ENGLISH, {}, POLISH], ids=["english", "none", "polish"])
def test_an_english_feed_carries_the_original_text(client, team, incident, fmt, headers):
    published(team, incident)
    path = f"/history.{fmt}" + ("?lang=en" if headers is POLISH else "")
    client.get(f"/history.{fmt}", headers=POLISH)  # a cached Polish copy must not answer
    english = feedparser.parse(client.get(path, headers=headers).data)
    assert not english.bozo and english.feed.language == "en"
    entry = english.entries[0].description
    assert ORIGINAL in entry and "Identified" in entry and TRANSLATED not in entry


def test_a_component_feed_has_a_polish_version_too(client, team, incident):
    published(team, incident)
    component = incident.components[0]
    parsed = feedparser.parse(
        client.get(f"/components/{component.public_id}/history.atom?lang=pl").data
    )
    assert TRANSLATED in parsed.entries[0].description


@pytest.mark.parametrize("asked", [{"query_string": {"lang": "pl"}}, {"headers": POLISH}])
def test_an_untranslated_update_in_the_polish_feed_is_the_original_marked_english(
    client, team, incident, asked
):
    published(team, incident, translations={})
    raw = client.get("/history.atom", **asked).get_data(as_text=True)
    assert f'&lt;div lang="en"&gt;&lt;p&gt;{ORIGINAL}' in raw


def test_a_feed_in_a_language_herald_does_not_have_is_not_found(client, team, incident):
    for value in ("de", "", "PL", "en-US"):
        assert client.get("/history.atom", query_string={"lang": value}).status_code == 404


def test_every_public_page_links_the_feeds_in_each_other_language(client, team, incident):
    published(team, incident)
    for path in ("/", "/history", f"/incidents/{incident.public_id}"):
        head = page(client, path, ENGLISH).split("</head>")[0]
        assert 'hreflang="pl" href="/history.atom?lang=pl"' in head
        assert 'hreflang="pl" href="/history.rss?lang=pl"' in head


# ---------------------------------------------------------------- the console


def test_the_console_edits_a_translation_and_reviewers_see_it_beside_the_original(
    app, team, incident
):
    from ..web.test_composer_console import client_for, form_on, fresh, url

    message = approve(team, draft(team, incident, translations={}))
    cora = client_for(app, team[Role.COMMS_MANAGER])
    page_html = cora.get(url(message)).get_data(as_text=True)
    assert "Update text in Polski" in page_html and 'lang="pl"' in page_html
    fields = form_on(page_html, "/edit")
    assert (
        cora.post(url(message, "edit"), data={**fields, "translation_pl": TRANSLATED}).status_code
        == 302
    )
    message = fresh(message)
    assert message.state == MessageState.DRAFT
    assert [(t.locale, t.body) for t in message.translations] == [("pl", TRANSLATED)]
    reviewer = client_for(app, team[Role.INCIDENT_MANAGER])
    shown = reviewer.get(url(message)).get_data(as_text=True)
    assert ORIGINAL in shown and TRANSLATED in shown


def test_a_new_update_can_be_written_with_its_translation(app, team, incident):
    from ..web.test_composer_console import client_for

    cora = client_for(app, team[Role.COMMS_MANAGER])
    path = f"/console/incidents/{incident.public_id}/messages/new"
    page_html = cora.get(path).get_data(as_text=True)
    assert 'name="translation_pl"' in page_html
    data = {"incident_status": "identified", "audience": "public", "template": "0"}
    data |= {"body": ORIGINAL, "translation_pl": TRANSLATED}
    response = cora.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    message = incident.messages[-1]
    assert [(t.locale, t.body) for t in message.translations] == [("pl", TRANSLATED)]
