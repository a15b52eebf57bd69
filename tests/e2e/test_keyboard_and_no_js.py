"""Keyboard only, focus always visible, and the public side with JavaScript off."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import DESKTOP, PASSWORD, browser_context, sign_in

FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const ring = style.boxShadow && style.boxShadow !== 'none';
  const text = el.innerText || el.value || el.name || el.id || el.tagName;
  return {shown: outline || ring, text: text.slice(0, 60)};
}"""


def _tab_to(page, matches, limit: int = 120) -> None:
    """Press Tab until the focused element's text matches; every stop must show its focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_SHOWN)
        if focused is None:
            continue
        assert focused["shown"], f"focus is not visible on {focused['text']!r}"
        if matches(focused["text"]):
            return
        stops.append(focused["text"])
    raise AssertionError(f"never reached the element by Tab on {page.url}; stops: {stops[:40]}")


def test_skip_link_is_first_and_moves_focus_to_the_content(herald, page):
    """The first Tab shows a skip link; following it puts the keyboard in the main content."""
    page.goto(herald.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUS_SHOWN)
    assert focused["shown"] and "Skip to main content" in focused["text"]
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


def test_a_visitor_subscribes_with_the_keyboard_alone(herald, page):
    """From the status page to a confirmed-pending subscription by Tab, typing and Enter only."""
    page.goto(herald.url + "/")
    _tab_to(page, lambda text: text.strip().lower().startswith("subscribe"), limit=200)
    page.keyboard.press("Enter")
    page.wait_for_url(herald.url + "/subscribe")
    _tab_to(page, lambda text: text == "email-email")  # the email field, by its name
    page.keyboard.type("keyboard-only@example.com")
    _tab_to(page, lambda text: text.strip() == "Subscribe by email")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("confirm")


def test_staff_sign_in_with_the_keyboard_alone(herald, page):
    """The console's sign-in form is usable by keys only, and focus is visible throughout."""
    page.goto(herald.url + "/console/login")
    _tab_to(page, lambda text: text == "email")
    page.keyboard.type(herald.accounts["support_agent"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(herald.url + "/console/")
    _tab_to(page, lambda text: "Incidents" in text or "Dashboard" in text or "Account" in text)


def test_public_pages_work_with_javascript_off(herald, no_js_page):
    """With scripts off, the status page, history, an incident and subscribing all still work."""
    page = no_js_page
    page.goto(herald.url + "/")
    expect(page.locator(".status").first).to_be_visible()  # icon and text, not colour alone
    expect(page.locator("time").first).not_to_be_empty()  # times are rendered by the server
    incident = page.locator(".card__title a").first
    name = incident.inner_text()
    incident.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.goto(herald.url + "/history")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(herald.url + "/subscribe")
    page.get_by_label("Email address").fill("no-js@example.com")
    page.get_by_role("button", name="Subscribe by email").click()
    expect(page.locator("main")).to_contain_text("confirm")


def test_status_is_never_shown_by_colour_alone(herald, page):
    """Every component's status and every uptime day has text, not only a colour."""
    page.goto(herald.url + "/")
    for badge in page.locator(".status").all()[:30]:
        assert badge.inner_text().strip()
    days = page.locator(".day")
    assert days.count() > 0
    for day in days.all()[:20]:
        label = day.get_attribute("aria-label") or day.inner_text()
        assert "uptime" in label.lower() or "%" in label


def test_console_works_for_a_signed_in_support_agent_without_javascript(herald, browser):
    """Staff pages are plain forms: a support agent can sign in and read an incident with JS off."""
    context = browser_context(browser, viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, herald, "support_agent")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    finally:
        context.close()


def test_each_uptime_bar_is_one_tab_stop_and_arrows_move_between_days(herald, page):
    """A keyboard user passes a 90-day bar with one Tab and reads any day with the arrow keys."""
    page.goto(herald.url + "/")
    bars = page.locator(".uptime__bar")
    assert bars.count() > 0
    for bar in bars.all():
        assert bar.locator(".day[tabindex='0']").count() == 1
    first_bar = bars.first
    today = first_bar.locator(".day").last
    today.focus()
    page.keyboard.press("ArrowLeft")
    yesterday = first_bar.locator(".day").nth(first_bar.locator(".day").count() - 2)
    expect(yesterday).to_be_focused()
    assert yesterday.get_attribute("tabindex") == "0" and today.get_attribute("tabindex") == "-1"
    page.keyboard.press("Home")
    expect(first_bar.locator(".day").first).to_be_focused()
    inside = "el => el.contains(document.activeElement)"
    for _ in range(10):  # Tab past the run's own links (incidents) and out of the bar
        page.keyboard.press("Tab")
        if not first_bar.evaluate(inside):
            break
    # Leaving the bar hands its stop back to today's run, which a narrow screen shows too.
    assert not first_bar.evaluate(inside)
    assert first_bar.locator(".day[tabindex='0']").count() == 1
    assert today.get_attribute("tabindex") == "0"


def test_public_pages_run_their_scripts_under_the_content_security_policy(herald, new_context):
    """Every script the public pages load is allowed by the CSP (nonce and 'self'), also when
    the page comes from the response cache: the browser reports no violation, and the scripts
    ran (times shown in the visitor's own zone)."""
    page = new_context(timezone_id="Europe/Warsaw").new_page()
    refused = []

    def watch(message):
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    for _ in range(2):  # the second visit is served from the response cache
        for path in ("/", "/history", "/subscribe"):
            page.goto(herald.url + path)
            page.wait_for_load_state("load")
    assert refused == []
    page.goto(herald.url + "/history")
    stamps = page.locator("time[datetime*='T']")
    assert stamps.count() > 0
    assert "UTC" not in stamps.first.inner_text()  # localtime.js rewrote the server's UTC text


DAY_DRAWINGS = """() => [...document.querySelectorAll('.uptime__bar .day')].map(day => {
  const style = getComputedStyle(day);
  const kinds = ['degraded_performance', 'partial_outage', 'major_outage'];
  return {
    trouble: kinds.some(kind => day.classList.contains('day--' + kind)),
    good: ![...kinds, 'under_maintenance', 'none'].some(k => day.classList.contains('day--' + k)),
    image: style.backgroundImage,
    height: style.backgroundSize.split(' ')[1] || style.backgroundSize,
  };
})"""


def test_uptime_days_stay_apart_in_forced_colours(herald, new_context):
    """High-contrast themes drop colours and gradients: every day keeps its ticks, and a day
    of trouble stands taller than a good one, so an outage never looks like a good day."""
    page = new_context(forced_colors="active").new_page()
    page.goto(herald.url + "/")
    days = page.evaluate(DAY_DRAWINGS)
    trouble = {d["height"] for d in days if d["trouble"]}
    good = {d["height"] for d in days if d["good"]}
    assert trouble and good, "the demo page should show good days and days of trouble"
    assert all(d["image"] != "none" for d in days)
    assert trouble == {"100%"} and "100%" not in good
