"""axe-core finds no WCAG 2.2 A/AA violation on any public or console page, light or dark.

The pages are found by following links from `/` and from the console's dashboard,
so a page added later is checked without being listed here.
"""

from __future__ import annotations

from urllib.parse import urldefrag, urlparse

import pytest

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
NOT_PAGES = (".json", ".atom", ".rss", ".ics", ".svg", ".md", ".png", ".css", ".js")
NEVER_VISIT = ("/console/logout", "/unsubscribe", "/confirm")
MAX_PAGES = 60


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url = urldefrag(href).url
        path = urlparse(url).path
        if not url.startswith(base) or path.endswith(NOT_PAGES) or "/static/" in path:
            continue
        if any(part in path for part in NEVER_VISIT):
            continue
        found.append(url)
    return found


def _crawl(page, start: str, base: str, prefix: str) -> list[str]:
    """Every HTML page under `prefix` reachable by links from `start` (bounded)."""
    seen: list[str] = []
    queue = [start]
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        seen.append(url)
        for link in _links(page, base):
            if urlparse(link).path.startswith(prefix) and link not in seen and link not in queue:
                queue.append(link)
    return seen


def _violations(page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in result["violations"]
    ]


def _audit(page, urls: list[str], axe_source: str) -> dict[str, list[str]]:
    """Each violation found, with the pages (and colour scheme) it was found on."""
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for url in urls:
            page.goto(url)
            for violation in _violations(page, axe_source):
                problems.setdefault(violation, []).append(f"{urlparse(url).path} [{scheme}]")
    return problems


def test_public_pages_have_no_wcag_violations(herald, new_context, axe_source):
    """Every public page passes axe-core's WCAG 2.2 A and AA rules in both colour schemes."""
    audit_page = new_context(bypass_csp=True).new_page()  # lets the test inject axe-core
    urls = _crawl(audit_page, herald.url + "/", herald.url, prefix="/")
    public = [u for u in urls if not urlparse(u).path.startswith("/console")]
    assert len(public) >= 4, public  # the status page, history, an incident, subscribe at least
    assert _audit(audit_page, public, axe_source) == {}


@pytest.mark.parametrize("role", ["admin", "support_agent"])
def test_console_pages_have_no_wcag_violations(herald, new_context, axe_source, role):
    """Every console page a role can reach passes axe-core's WCAG 2.2 A and AA rules."""
    audit_page = new_context(role=role, bypass_csp=True).new_page()
    urls = _crawl(audit_page, herald.url + "/console/", herald.url, prefix="/console")
    assert len(urls) >= 5, urls
    assert _audit(audit_page, urls, axe_source) == {}
