"""The important flows, in a real browser against a real server.

Each flow saves screenshots (desktop and phone, light and dark) under
tests/e2e/artifacts/ (HERALD_E2E_ARTIFACTS overrides it).
"""

from __future__ import annotations

import re
import uuid

import feedparser
from playwright.sync_api import expect

from .conftest import screenshots


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _declare(page, herald, name: str) -> str:
    """Declare an incident from the console; return its console URL."""
    page.goto(herald.url + "/console/incidents/new")
    page.get_by_label("What is happening?").fill(name)
    page.get_by_role("button", name="Declare incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    return page.url


def test_visitor_reads_the_page_opens_an_incident_and_subscribes(herald, page, browser):
    """A visitor finds the current state, an incident's updates and can subscribe by email."""
    page.goto(herald.url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    incident_link = page.locator(".card__title a").first
    name = incident_link.inner_text()
    incident_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    incident_url = page.url

    page.goto(herald.url + "/subscribe")
    page.get_by_label("Email address").fill("visitor@example.com")
    page.get_by_role("button", name="Subscribe by email").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("confirm")

    screenshots(browser, herald.url + "/", "visitor-status-page")
    screenshots(browser, incident_url, "visitor-incident")
    screenshots(browser, herald.url + "/subscribe", "visitor-subscribe")


def test_an_update_is_drafted_refused_when_too_long_reviewed_and_published(
    herald, new_context, browser
):
    """Comms drafts from a template; X's counter passes 280 and saving is refused; fixed, it is
    approved by the incident manager, published, and every public outlet shows it at once."""
    comms = new_context(role="comms_manager").new_page()
    incident_name = _unique("Checkout errors")
    _declare(comms, herald, incident_name)

    comms.get_by_role("link", name="Write an update").click()
    comms.get_by_label("Start from a template").select_option(label="Investigating")
    comms.get_by_role("button", name="Create draft").click()
    expect(comms.get_by_role("heading", level=1)).to_contain_text(incident_name)
    composer_url = comms.url

    x_text = comms.get_by_label("X", exact=True)
    counter = comms.locator("#counter-x")
    x_text.fill("Checkout is failing for some customers. " * 8)  # about 330 characters
    expect(counter).to_have_class(re.compile("counter--over"))  # live, as the text is typed
    comms.get_by_role("button", name="Save", exact=True).click()
    expect(comms.locator(".error").first).to_contain_text("the limit is 280")
    screenshots(browser, comms.url, "composer-refused", sign_in_as=(herald, "comms_manager"))

    wording = _unique("We are investigating checkout errors")
    comms.goto(composer_url)
    body = comms.get_by_label("Update text (Markdown)", exact=False)
    body.fill(wording + ". Next update within 30 minutes.")
    comms.get_by_label("X", exact=True).fill(wording + ".")
    expect(comms.locator("#counter-x")).not_to_have_class(re.compile("counter--over"))
    comms.get_by_role("button", name="Save", exact=True).click()
    expect(comms.locator(".error")).to_have_count(0)
    comms.get_by_role("button", name="Send for review").click()
    expect(comms.locator("[aria-current=step]")).to_contain_text("review")

    manager = new_context(role="incident_manager").new_page()
    manager.goto(composer_url)
    manager.get_by_role("button", name="Approve this exact text").click()
    expect(manager.locator("[aria-current=step]")).to_contain_text("Approved")
    screenshots(browser, composer_url, "composer-approved", sign_in_as=(herald, "incident_manager"))

    comms.goto(composer_url)
    comms.get_by_role("button", name="Publish now").click()
    expect(comms.locator("[aria-current=step]")).to_contain_text("Published")

    visitor = new_context().new_page()
    visitor.goto(herald.url + "/")
    visitor.get_by_role("link", name=incident_name).first.click()
    expect(visitor.locator("main")).to_contain_text(wording)
    screenshots(browser, visitor.url, "published-incident")

    feed = feedparser.parse(herald.get("/history.atom").content)
    entries = [entry.get("summary", "") + entry.get("title", "") for entry in feed.entries]
    assert any(wording in entry for entry in entries)
    incidents = herald.get("/api/v2/incidents/unresolved.json").json()["incidents"]
    ours = next(i for i in incidents if i["name"] == incident_name)
    assert any(wording in update["body"] for update in ours["incident_updates"])


DEMO_INCIDENT = "Delayed webhook and email deliveries"  # active in the demo data


# Text put in the X box without input events (typed before any script listened), then the
# composer script run again, as it runs on a slow connection: after the typing.
TYPED_BEFORE_THE_SCRIPT = """() => {
  document.querySelector('textarea[data-outlet="x"]').value = "Checkout is down. ".repeat(20);
  const late = document.createElement("script");
  late.src = document.querySelector('script[src*="composer"]').src;
  document.head.appendChild(late);
}"""


def test_text_typed_before_the_composer_script_ran_is_counted_when_it_runs(herald, new_context):
    comms = new_context(role="comms_manager").new_page()
    _declare(comms, herald, _unique("Slow line"))
    comms.get_by_role("link", name="Write an update").click()
    comms.get_by_label("Start from a template").select_option(label="Investigating")
    comms.get_by_role("button", name="Create draft").click()
    counter = comms.locator("#counter-x")
    expect(counter).not_to_have_class(re.compile("counter--over"))
    comms.evaluate(TYPED_BEFORE_THE_SCRIPT)
    expect(counter).to_have_class(re.compile("counter--over"))


def test_a_visitor_reports_being_affected_and_support_logs_a_report_and_copies_the_wording(
    herald, new_context, browser
):
    """Both reports reach the responders' view of the incident; the support agent copies the
    latest approved public wording to give the customer."""
    visitor_says = _unique("Webhooks to our CRM arrive an hour late")
    visitor = new_context().new_page()
    visitor.goto(herald.url + "/")
    visitor.get_by_role("link", name=DEMO_INCIDENT).first.click()
    expect(visitor.get_by_role("heading", name="Are you affected?").first).to_be_visible()
    visitor.get_by_text("Add details (optional)").first.click()
    visitor.get_by_label("What do you see? (optional)").first.fill(visitor_says)
    visitor.get_by_role("button", name="Yes, I am affected").first.click()
    expect(visitor.locator("main")).to_contain_text("Thank")
    screenshots(browser, herald.url + "/", "feedback-status-page")

    customer_says = _unique("Customer on the phone: password reset email never came")
    agent_context = new_context(role="support_agent")
    agent_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=herald.url)
    agent = agent_context.new_page()
    agent.goto(herald.url + "/console/")
    agent.get_by_role("link", name="Log a report").click()
    agent.get_by_label("What the customer said").fill(customer_says)
    agent.get_by_label("Incident", exact=True).select_option(label=DEMO_INCIDENT)
    agent.get_by_role("button", name="Log report").click()
    expect(agent.locator("main")).to_contain_text("logged")
    intake_url = agent.url

    published = herald.get("/api/v2/incidents/unresolved.json").json()["incidents"]
    ours = next(i for i in published if i["name"] == DEMO_INCIDENT)
    latest_public_words = ours["incident_updates"][0]["body"]
    wording = agent.locator(f"#wording-{ours['id']}")
    copy = agent.locator(f"button.feedback-copy[data-copy='wording-{ours['id']}']")
    expect(copy).to_be_visible()  # shown only where the script runs and the clipboard exists
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = agent.evaluate("() => navigator.clipboard.readText()")
    assert copied == wording.input_value()
    assert latest_public_words.split("\n")[0][:60] in copied
    screenshots(browser, intake_url, "support-intake", sign_in_as=(herald, "support_agent"))

    manager = new_context(role="incident_manager").new_page()
    manager.goto(herald.url + "/console/")
    manager.get_by_role("link", name=DEMO_INCIDENT).first.click()
    manager.get_by_role("link", name="Customer feedback and what to tell customers").click()
    view = manager.locator("main")
    expect(view).to_contain_text(visitor_says)
    expect(view).to_contain_text(customer_says)
    expect(view.locator("svg").first).to_be_visible()  # reports over time
    screenshots(browser, manager.url, "responder-view", sign_in_as=(herald, "incident_manager"))
