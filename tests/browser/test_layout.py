"""The layout in a real browser at phone width (390 px) and on a desktop (1280 px): no word is
broken in the middle on the main pages (issue 14: "Defau lt", "Pa ck s", "suc cee ded"), and
the navigation collapses at phone width and opens by mouse and by keyboard.

Two checks per page. The computed style: no element of the page asks for breaks inside words
(overflow-wrap: anywhere, word-break: break-all or break-word), and table cells, headings and
the navigation keep overflow-wrap: normal. The geometry: every run of letters and digits of
the page's text lies on one line (a Range over it has no two boxes on different lines), which
is what a reader sees, whatever the CSS."""

import pytest
from playwright.sync_api import expect

from tests.portal_support import api_as

WIDTHS = (390, 1280)

# Returns what breaks words on the page: [description, ...]. Runs inside the page.
BROKEN_WORDS = """() => {
  const found = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const breaking = (style) =>
    style.overflowWrap === "anywhere" || ["break-all", "break-word"].includes(style.wordBreak);
  const kept = "th, td, h1, h2, h3, .nav-link, .navbar-brand";
  for (const root of document.querySelectorAll("main, header")) {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      const style = getComputedStyle(el);
      if (breaking(style) || (el.matches(kept) && style.overflowWrap !== "normal")) {
        found.push(`${name(el)}: ${style.overflowWrap} ${style.wordBreak}`);
      }
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/[\\p{L}\\p{N}_]{2,}/gu)) {
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()]
          .filter((box) => box.width > 0 && box.height > 0)
          .map((box) => Math.round(box.bottom)));
        if (lines.size > 1) found.push(`"${word[0]}" broken in ${name(node.parentElement)}`);
      }
    }
  }
  return found;
}"""


@pytest.fixture
def main_pages(alice, portal):
    """The main pages, with an execution, a rule and an API key of alice's to show."""
    alice_api = api_as("alice")
    execution = alice_api.launch("core.local", {"cmd": "echo 'a fairly long line of output'"})
    alice_api.create_rule(
        {
            "name": "deploy_on_push",
            "pack": "default",
            "description": "Deploys the default branch whenever the repository is pushed to.",
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "push"}},
            "criteria": {"trigger.body.ref": {"type": "equals", "pattern": "refs/heads/main"}},
            "action": {"ref": "core.local", "parameters": {"cmd": "echo deploying"}},
        }
    )
    alice_api.create_api_key({"name": "nightly-backup", "team": "operations"})
    return (
        "/",
        "/packs",
        "/actions",
        "/actions/demo.deploy",
        "/executions",
        f"/executions/{execution['id']}",
        "/rules",
        "/rules/default.deploy_on_push",
        "/apikeys",
    )


def open_navigation(page):
    """At phone width the links are behind the toggle button: open it."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible():
        toggle.click()
        expect(page.get_by_role("link", name="Packs")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_word_is_broken_on_the_main_pages(alice_page, main_pages, width):
    page = alice_page
    page.set_viewport_size({"width": width, "height": 900})
    for path in main_pages:
        page.goto(f"{page.portal_url}{path}")
        open_navigation(page)
        assert page.evaluate(BROKEN_WORDS) == [], (width, path)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_never_scrolls_sideways_only_its_tables_do(alice_page, main_pages, width):
    page = alice_page
    page.set_viewport_size({"width": width, "height": 900})
    for path in main_pages:
        page.goto(f"{page.portal_url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (width, path, overflow)


def test_the_navigation_collapses_at_phone_width_and_opens_by_mouse(alice_page):
    page = alice_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{page.portal_url}/packs")
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    expect(page.get_by_role("link", name="Actions", exact=True)).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for name in ("Packs", "Actions", "Executions", "Rules", "API keys"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("link", name="Rules", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rules")


def test_the_navigation_opens_and_is_followed_by_keyboard_at_phone_width(alice_page):
    page = alice_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{page.portal_url}/packs")
    for _ in range(4):  # the skip link, the brand, then the toggle
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-controls')") == "main-nav":
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == "main-nav"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Executions")).to_be_visible()
    reached = []
    for _ in range(6):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        if reached[-1] == "Executions":
            break
    assert reached == ["Packs", "Actions", "Templates", "Executions"], reached
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Executions")


def test_the_skip_link_is_the_first_stop_and_lands_on_the_content(alice_page):
    page = alice_page
    page.goto(f"{page.portal_url}/packs")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
