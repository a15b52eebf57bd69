"""The status page's "are you affected?" control and "report a problem" form."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import (
    FeedbackKind,
    FeedbackReport,
    FeedbackSource,
    IncidentFeedback,
    TriageState,
)
from publisher.services.feedback import customer_impact
from tests.corpus import assert_harmless_html, lines


def _without_nonces(page: str) -> str:
    return re.sub(r'nonce="[^"]*"', "", page)


def _reports():
    db.session.expire_all()
    return db.session.scalars(select(FeedbackReport).order_by(FeedbackReport.id)).all()


def test_incident_page_offers_the_affected_control_without_javascript(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Are you affected?" in page
    assert f'action="/incidents/{incident.public_id}/affected"' in page
    assert 'name="answer" value="yes"' in page and 'name="website"' in page
    assert "<script>" not in page and 'style="' not in page


def test_a_yes_with_details_is_stored_linked_and_counted(client, make):
    api, web = make.component("API"), make.component("Web", position=1)
    incident = make.incident(components=[api, web])
    response = client.post(
        f"/incidents/{incident.public_id}/affected",
        data={
            "answer": "yes",
            "component": api.public_id,
            "region": "Europe",
            "body": "Checkout times out",
            "email": "Ada@Example.com",
            "wants_updates": "y",
        },
    )
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True)
    [report] = _reports()
    assert (report.source, report.kind, report.state) == (
        FeedbackSource.STATUS_PAGE,
        FeedbackKind.AFFECTED,
        TriageState.LINKED,
    )
    assert report.incident_id == incident.id and report.component_id == api.id
    assert report.contact_email == "ada@example.com" and report.consent_at is not None
    impact = customer_impact(incident.id)
    assert impact.total == 1 and impact.want_updates == 1
    assert impact.by_component == [("API", 1)] and impact.by_region == [("Europe", 1)]
    assert impact.by_source == [("status_page", 1)]


def test_an_address_without_consent_is_not_kept(client, make):
    incident = make.incident()
    client.post(
        f"/incidents/{incident.public_id}/affected",
        data={"answer": "yes", "email": "ada@example.com"},
    )
    [report] = _reports()
    assert report.contact_email is None and not report.wants_updates


def test_a_no_answer_is_kept_but_not_counted(client, make):
    incident = make.incident()
    client.post(f"/incidents/{incident.public_id}/affected", data={"answer": "no"})
    assert len(_reports()) == 1
    assert customer_impact(incident.id).total == 0


def test_the_honeypot_gets_the_same_thanks_and_nothing_is_stored(client, make):
    incident = make.incident()
    honest = client.post(f"/incidents/{incident.public_id}/affected", data={"answer": "yes"})
    bot = client.post(
        f"/incidents/{incident.public_id}/affected",
        data={"answer": "yes", "website": "http://spam.example", "body": "x" * 9000},
    )
    assert bot.status_code == honest.status_code == 200
    assert _without_nonces(bot.get_data(as_text=True)) == _without_nonces(
        honest.get_data(as_text=True)
    )
    assert len(_reports()) == 1


def test_bad_input_is_a_form_error_not_a_500(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    url = f"/incidents/{incident.public_id}/affected"
    cases = [
        {"answer": "maybe"},
        {"answer": "yes", "body": "x" * 2001},
        {"answer": "yes", "email": "not an address"},
        {"answer": "yes", "email": "a@example.com\r\nBcc: b@example.com", "wants_updates": "y"},
        {"answer": "yes", "wants_updates": "y"},
        {"answer": "yes", "region": "Atlantis"},
        {"answer": "yes", "component": "nosuchthing"},
    ]
    for data in cases:
        response = client.post(url, data=data)
        assert response.status_code == 422, data
        assert 'role="alert"' in response.get_data(as_text=True)
    assert _reports() == []


def test_affected_is_refused_for_an_unknown_resolved_or_malformed_incident(client, make):
    assert client.post("/incidents/nosuchid/affected", data={"answer": "yes"}).status_code == 404
    assert client.post("/incidents/../x/affected", data={"answer": "yes"}).status_code == 404
    maintenance = make.maintenance()
    url = f"/incidents/{maintenance.public_id}/affected"
    assert client.post(url, data={"answer": "yes"}).status_code == 404


def test_report_a_problem_lands_in_the_inbox_unlinked(client, make):
    api = make.component("API")
    page = client.get("/report")
    assert page.status_code == 200 and "Report a problem" in page.get_data(as_text=True)
    response = client.post(
        "/report", data={"component": api.public_id, "body": "Login page is blank"}
    )
    assert response.status_code == 200
    [report] = _reports()
    assert report.kind == FeedbackKind.PROBLEM and report.incident_id is None
    assert report.state == TriageState.NEW and report.component_id == api.id


def test_each_report_keeps_the_language_its_page_was_shown_in(client, make):
    incident = make.incident()
    polish, english = {"Accept-Language": "pl-PL,pl;q=0.9"}, {"Accept-Language": "en-GB"}
    url = f"/incidents/{incident.public_id}/affected"
    assert client.post(url, data={"answer": "yes"}, headers=polish).status_code == 200
    assert client.post(url, data={"answer": "yes"}, headers=english).status_code == 200
    client.set_cookie("lang", "pl")  # the language switcher's choice wins over the browser's
    client.post("/report", data={"body": "Login page is blank"}, headers=english)
    assert [r.locale for r in _reports()] == ["pl", "en", "pl"]


def test_report_a_problem_needs_a_description(client, make):
    response = client.post("/report", data={"body": "   "})
    assert response.status_code == 422
    assert "Tell us what happened." in response.get_data(as_text=True)
    assert _reports() == []


def test_hostile_text_is_stored_harmlessly_and_shown_escaped(client, make):
    incident = make.incident()
    bodies = lines("xss.txt") + lines("unicode.txt") + lines("template.txt")
    for body in bodies:
        response = client.post("/report", data={"body": body + " \x00\x1b[31m\u202e"})
        assert response.status_code == 200, body
        refused = client.post("/report", data={"body": "x", "email": body, "wants_updates": "y"})
        assert refused.status_code == 422, body
        assert_harmless_html(refused.get_data(as_text=True).split("<main", 1)[1])
    stored = _reports()
    assert len(stored) == len(bodies)
    for report in stored:
        assert "\x00" not in report.body and "\x1b" not in report.body
        assert "\u202e" not in report.body
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert_harmless_html(page.split("<main", 1)[1])


def test_the_public_count_shows_only_when_the_incident_manager_turns_it_on(client, make):
    incident = make.incident()
    url = f"/incidents/{incident.public_id}"
    for _n in range(3):
        client.post(url + "/affected", data={"answer": "yes"})
    assert "reported being affected" not in client.get(url).get_data(as_text=True)
    db.session.add(IncidentFeedback(incident_id=incident.id, show_public_count=True))
    db.session.commit()
    client.post(url + "/affected", data={"answer": "yes"})
    page = client.get(url).get_data(as_text=True)
    assert "4 people reported being affected." in page
    count = db.session.scalar(select(func.count(FeedbackReport.id)))
    assert count == 4


def test_feedback_posts_are_rate_limited_per_client(app, make):
    app.config["RATELIMIT_ENABLED"] = True
    from publisher.extensions import limiter

    limiter.enabled = True
    limiter.reset()
    try:
        client = app.test_client()
        incident = make.incident()
        codes = [
            client.post(
                f"/incidents/{incident.public_id}/affected", data={"answer": "yes"}
            ).status_code
            for _n in range(7)
        ]
    finally:
        limiter.enabled = False
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    assert len(_reports()) == 5
