"""The catalog pages in a real browser: search as you type keeps ?q= in the address (reload,
Back and Forward show the same results), paging links, the keyboard alone, and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from st2bridge.models import Action, Pack

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def bulk_pack(portal):
    """A pack of 60 actions, bulk.a000 to bulk.a059: three pages."""
    Pack.objects.create(ref="bulk", name="Bulk")
    Action.objects.bulk_create(
        Action(
            ref=f"bulk.a{n:03d}",
            pack="bulk",
            name=f"a{n:03d}",
            description=f"Bulk action number {n}.",
            runner_type="noop",
        )
        for n in range(60)
    )


def listed(page):
    return page.locator("#action-list a")


def test_search_as_you_type_keeps_the_query_in_the_address(alice_page):
    page = alice_page
    page.goto(f"{page.portal_url}/actions")
    page.get_by_role("searchbox").fill("greet")
    expect(page).to_have_url(re.compile(r"/actions\?q=greet$"))
    expect(listed(page)).to_have_text(["demo.greet"])
    expect(page.locator("#action-count")).to_have_text("1 action matching “greet”.")

    page.reload()  # the address alone shows the same
    expect(page.get_by_role("searchbox")).to_have_value("greet")
    expect(listed(page)).to_have_text(["demo.greet"])

    page.get_by_role("link", name="demo.greet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("demo.greet")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/actions\?q=greet$"))
    expect(listed(page)).to_have_text(["demo.greet"])
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text("demo.greet")

    page.go_back()
    page.get_by_role("searchbox").fill("")
    expect(page).to_have_url(re.compile(r"/actions$"))
    expect(listed(page)).not_to_have_count(1)


def test_typing_in_a_packs_actions_searches_that_pack_and_starts_at_page_one(alice_page, bulk_pack):
    page = alice_page
    page.goto(f"{page.portal_url}/actions?pack=bulk&page=2")
    expect(listed(page).first).to_have_text("bulk.a025")
    page.get_by_role("searchbox").fill("a04")
    expect(page).to_have_url(re.compile(r"/actions\?q=a04&pack=bulk$"))
    expect(listed(page)).to_have_text([f"bulk.a{n:03d}" for n in range(40, 50)])


def test_paging_links_walk_the_pages_and_keep_the_pack(alice_page, bulk_pack):
    page = alice_page
    page.goto(f"{page.portal_url}/packs")
    page.get_by_role("link", name="60 actions of bulk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Actions of bulk")
    expect(listed(page)).to_have_count(25)
    expect(listed(page).first).to_have_text("bulk.a000")
    pages = page.get_by_role("navigation", name="Pages")
    pages.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?pack=bulk&page=2$"))
    expect(listed(page).first).to_have_text("bulk.a025")
    pages.get_by_role("link", name="Next").click()
    expect(listed(page)).to_have_text([f"bulk.a{n:03d}" for n in range(50, 60)])
    expect(pages.get_by_role("link", name="Next")).to_have_count(0)
    pages.get_by_role("link", name="First").click()
    expect(page).to_have_url(re.compile(r"\?pack=bulk&page=1$"))
    pages.get_by_role("link", name="Last").click()
    expect(page).to_have_url(re.compile(r"\?pack=bulk&page=3$"))
    pages.get_by_role("link", name="Previous").click()
    expect(listed(page).first).to_have_text("bulk.a025")


def tab_to(page, predicate, limit=40):
    """Press Tab until `predicate` (JavaScript, on document.activeElement) holds."""
    for _ in range(limit):
        if page.evaluate(f"(element => {predicate})(document.activeElement)"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_keyboard_alone_searches_pages_and_opens_an_action(alice_page, bulk_pack):
    page = alice_page
    page.goto(f"{page.portal_url}/actions?pack=bulk")
    tab_to(page, "element.id === 'q'")
    page.keyboard.type("bulk action")
    expect(page).to_have_url(re.compile(r"q=bulk\+action"))
    tab_to(page, "element.textContent === 'Next'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"page=2"))
    tab_to(page, "element.textContent === 'bulk.a025'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("bulk.a025")


@pytest.mark.parametrize("path", ["/actions?pack=bulk", "/packs"])
def test_catalog_pages_fit_a_phone(alice_page, bulk_pack, path):
    page = alice_page
    page.set_viewport_size(PHONE)
    page.goto(f"{page.portal_url}{path}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} is {overflow} px wider than the phone"
    if path.startswith("/actions"):
        search = page.get_by_role("searchbox")
        box = search.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        search.fill("a05")
        expect(listed(page)).to_have_text([f"bulk.a{n:03d}" for n in range(50, 60)])
        expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)  # one page
    else:
        link = page.get_by_role("link", name="60 actions of bulk")
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]
