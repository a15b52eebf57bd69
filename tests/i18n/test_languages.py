"""Herald in Polish: chosen by the browser or the switcher, remembered, never mixed up."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from babel.dates import format_date, format_datetime, format_skeleton

from publisher.extensions import db
from publisher.models import IncidentStatus, User, utcnow

from ..corpus import assert_harmless_html, lines
from ..staff import IM, A, make_user, sign_in

POLISH = {"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
SAME_SITE = {"Origin": "http://localhost"}
HTML_LANG = re.compile(r'<html lang="([a-z]+)">')


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def lang_of(text: str) -> str:
    return HTML_LANG.search(text).group(1)


def switch(client, lang: str, next_path: str = "/", headers=None):
    return client.post(
        "/language",
        data={"lang": lang, "next": next_path},
        headers=SAME_SITE if headers is None else headers,
    )


# ---------------------------------------------------------------- choosing the language


def test_a_polish_browser_reads_the_status_page_in_polish(client, make):
    make.component("API")
    page = html(client.get("/", headers=POLISH))
    assert lang_of(page) == "pl"
    assert "Wszystkie systemy działają poprawnie" in page
    assert "Przejdź do treści głównej" in page and "Historia" in page
    assert "All Systems Operational" not in page


def test_an_english_or_unknown_language_gets_english(client, make):
    make.component("API")
    for headers in (ENGLISH, {"Accept-Language": "de-DE,de;q=0.9"}, {}):
        page = html(client.get("/", headers=headers))
        assert lang_of(page) == "en" and "All Systems Operational" in page


def test_the_chosen_language_wins_over_the_browser(app, make):
    make.component("API")
    polish_cookie, english_cookie = app.test_client(), app.test_client()
    polish_cookie.set_cookie("lang", "pl")
    english_cookie.set_cookie("lang", "en")
    assert lang_of(html(polish_cookie.get("/", headers=ENGLISH))) == "pl"
    assert lang_of(html(english_cookie.get("/", headers=POLISH))) == "en"


def test_a_cookie_naming_an_unsupported_language_is_ignored(client, make):
    make.component("API")
    for value in ("de", "../../etc/passwd", "pl\r\nX: y", "x" * 500):
        client.set_cookie("lang", value)
        assert lang_of(html(client.get("/", headers=POLISH))) == "pl"


def test_every_public_page_has_a_switcher_naming_each_language_in_itself(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    for path in ("/", "/history", f"/incidents/{incident.public_id}", "/subscribe"):
        page = html(client.get(path, headers=POLISH))
        form = page[page.index('<form class="language-switcher"') :]
        form = form[: form.index("</form>")]
        assert 'action="/language"' in form and 'method="post"' in form
        assert re.search(r'value="en" lang="en"[^>]*>English</button>', form)
        assert re.search(r'value="pl" lang="pl" aria-current="true">Polski</button>', form)
        assert f'name="next" value="{path}"' in form


# ---------------------------------------------------------------- the switcher


def test_the_switcher_remembers_the_choice_and_goes_back(client, make):
    make.component("API")
    response = switch(client, "pl", "/history?page=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/history?page=1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=pl;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert lang_of(html(client.get("/history", headers=ENGLISH))) == "pl"
    assert lang_of(html(client.get("/", headers=ENGLISH))) == "pl"
    switch(client, "en")
    assert lang_of(html(client.get("/", headers=POLISH))) == "en"


def test_the_console_follows_the_switcher_and_the_account_keeps_the_choice(client):
    admin = make_user(A)
    sign_in(client, admin)
    switch(client, "pl", "/console/")
    page = html(client.get("/console/", headers=ENGLISH))
    assert lang_of(page) == "pl"
    assert "Pulpit" in page and "Wyloguj się" in page and "(administrator)" in page
    assert 'value="pl" lang="pl" aria-current="true">Polski</button>' in page
    db.session.expire_all()
    assert db.session.get(User, admin.id).locale == "pl"


def test_the_console_sign_in_page_is_in_the_browser_language(client):
    page = html(client.get("/console/login", headers=POLISH))
    assert lang_of(page) == "pl" and "Zaloguj się" in page and "Hasło" in page


def test_an_unsupported_language_is_refused_with_a_message(client):
    for value in (None, "", "de", "PL", "pl-PL", "en\r\nSet-Cookie: x=1", *lines("xss.txt")[:5]):
        data = {} if value is None else {"lang": value}
        response = client.post("/language", data=data, headers=SAME_SITE)
        assert response.status_code == 422
        assert "Set-Cookie" not in response.headers
        assert "Choose one of the languages offered." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin, no Referer: nothing says it came from here
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Referer": "https://evil.example/status"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_switch_posted_from_another_site_is_refused(client, headers):
    response = switch(client, "pl", headers=headers)
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    assert lang_of(html(client.get("/console/login"))) == "en"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost"},
        {"Referer": "http://localhost/history"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://status.test"},  # the configured BASE_URL, behind a proxy
    ],
)
def test_a_switch_posted_from_this_site_is_taken(client, headers):
    assert switch(client, "pl", headers=headers).status_code == 303


def _hostile_next_values() -> list[str]:
    crafted = [
        "//evil.example/",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "evil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "/" + "a" * 3000,
    ]
    return crafted + lines("ssrf_urls.txt") + lines("xss.txt")


def test_the_way_back_is_always_a_path_on_this_site(client):
    for target in _hostile_next_values():
        response = switch(client, "pl", target)
        assert response.status_code == 303, target
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), target
        assert parts.path.startswith("/") and not location.startswith("//"), target
        assert "\r" not in location and "\n" not in location


def test_the_page_address_is_escaped_in_the_switcher(client, make):
    make.component("API")
    for line in lines("xss.txt"):
        page = html(client.get("/", query_string={"q": line}, headers=POLISH))
        form = page[page.index('<form class="language-switcher"') :]
        form = form[: form.index("</form>") + len("</form>")]
        assert_harmless_html(form)
        assert form.count("<input") == 1 and form.count("<button") == 2, line


# ---------------------------------------------------------------- dates and numbers


def test_dates_and_times_are_written_the_polish_way(client, make):
    api = make.component("API")
    started = utcnow().replace(microsecond=0) - timedelta(hours=2)
    incident = make.incident(
        components=[api],
        started_at=started,
        updates=[(IncidentStatus.INVESTIGATING, "Looking."), (IncidentStatus.IDENTIFIED, "Found.")],
    )
    today = datetime.now(UTC).date()
    index = html(client.get("/", headers=POLISH))
    assert format_date(today, "long", locale="pl") in index  # e.g. "29 listopada 2026"
    page = html(client.get(f"/incidents/{incident.public_id}", headers=POLISH))
    stamp = format_datetime(started, "medium", tzinfo=UTC, locale="pl")
    assert f"{stamp} UTC" in page
    assert "Zidentyfikowano" in page and "Badamy problem" in page
    english = html(client.get(f"/incidents/{incident.public_id}", headers=ENGLISH))
    assert format_datetime(started, "medium", tzinfo=UTC, locale="en") in english
    history = html(client.get("/history", headers=POLISH))
    assert format_skeleton("yMMMM", today, locale="pl") in history  # e.g. "listopad 2026"


def test_plural_forms_follow_polish_rules(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context("/"), force_locale("pl"):
        said = [ngettext("%(num)d component", "%(num)d components", n) for n in (1, 2, 5, 22, 112)]
    assert said == [
        "1 komponent",
        "2 komponenty",
        "5 komponentów",
        "22 komponenty",
        "112 komponentów",
    ]


# ---------------------------------------------------------------- the public cache


def test_the_cache_never_serves_one_language_to_another(client, make):
    make.component("API")
    for _ in range(3):  # the second round onwards is answered from the caches
        assert lang_of(html(client.get("/", headers=POLISH))) == "pl"
        assert lang_of(html(client.get("/", headers=ENGLISH))) == "en"
        assert lang_of(html(client.get("/", headers={"Accept-Language": "pl"}))) == "pl"
        assert lang_of(html(client.get("/"))) == "en"


def test_cached_pages_vary_on_language_and_cookie(client, make):
    make.component("API")
    for headers in (POLISH, POLISH, ENGLISH):
        response = client.get("/history", headers=headers)
        vary = {v.strip().lower() for v in response.headers["Vary"].split(",")}
        assert {"accept-language", "cookie"} <= vary


def test_an_etag_from_one_language_does_not_revalidate_the_other(client, make):
    make.component("API")
    polish = client.get("/", headers=POLISH)
    english = client.get("/", headers={**ENGLISH, "If-None-Match": polish.headers["ETag"]})
    assert english.status_code == 200 and lang_of(html(english)) == "en"
    again = client.get("/", headers={**POLISH, "If-None-Match": polish.headers["ETag"]})
    assert again.status_code == 304


def test_the_json_api_and_feeds_keep_their_machine_formats_in_polish(client, make):
    api = make.component("API")
    make.incident(components=[api])
    english = client.get("/api/v2/summary.json", headers=ENGLISH).get_json()
    polish = client.get("/api/v2/summary.json", headers=POLISH).get_json()
    assert polish == english
    feed = client.get("/history.atom", headers=POLISH).get_data(as_text=True)
    assert re.search(r"<updated>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", feed)
    calendar = client.get("/maintenance.ics", headers=POLISH).get_data(as_text=True)
    assert "BEGIN:VCALENDAR" in calendar


def test_the_incident_manager_sees_polish_role_names(client, make):
    manager = make_user(IM)
    sign_in(client, manager)
    switch(client, "pl")
    page = html(client.get("/console/", headers=ENGLISH))
    assert "(kierownik incydentu)" in page


def test_the_static_export_has_no_switcher_a_static_host_could_not_answer(app, make, tmp_path):
    from publisher.services.export import write_site

    make.incident(components=[make.component("API")])
    write_site(app, tmp_path)
    pages = list(tmp_path.rglob("index.html"))
    assert len(pages) >= 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert lang_of(text) == "en" and 'action="/language"' not in text, page
        assert "</footer>" in text


def test_a_refusal_names_the_update_state_in_the_reader_language(app):
    """A conflict message says the state in Polish, not the English enum value."""
    from publisher.models import MessageState
    from publisher.services.composer.common import check_state
    from publisher.services.errors import Conflict

    class Stub:
        state = MessageState.IN_REVIEW

    polish = app.test_request_context("/", headers={"Accept-Language": "pl"})
    with polish, pytest.raises(Conflict) as refused:
        check_state(Stub(), (MessageState.DRAFT,), "edytowana")
    assert "„w recenzji”" in str(refused.value)
