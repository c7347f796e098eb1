"""Generated forms in a real browser (issue 14): errors of a submit all at once, beside their
fields and in a summary that takes the focus and links to each field, at desktop and phone
width; a required choice that starts blank; rows whose items have defaults; the rule editor's
typed action parameters, its Jinja switch and its inline criteria rows; the webhook URL on a
rule's page. Keyboard: every control labelled, focus visible."""

import re

import pytest
from playwright.sync_api import expect

from st2bridge.models import Execution, Rule
from tests.portal_support import TARGETS, register_action

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

PORTS = {"targets": TARGETS, "loud": {"type": "boolean"}}  # default.ports

NO_CSP_VIOLATION = """document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations = (window.cspViolations || []).concat(event.violatedDirective);
});"""


def in_viewport(page, locator):
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and 0 <= box["y"] < size["height"]
        and box["x"] + box["width"] <= size["width"] + 1
    )


def middle(box):
    return box["y"] + box["height"] / 2


def no_sideways_scroll(page):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, overflow


def focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_run_untouched_shows_every_error_beside_its_field_and_a_summary_that_takes_focus(
    alice_page, viewport
):
    page = alice_page
    page.set_viewport_size(viewport)
    page.goto(f"{page.portal_url}/actions/demo.deploy")
    environment = page.get_by_label("environment")
    expect(environment).to_have_value("")  # defect 1: no first value preselected
    expect(page.locator("#preview-st2")).not_to_contain_text("environment")
    page.locator("#id_version").fill("-bad")
    page.get_by_label("replicas").fill("0")
    page.get_by_label("options").fill("{nope")
    page.get_by_label("api_token").fill("hunter2")
    page.get_by_role("button", name="Run demo.deploy").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(page.locator("#error-summary")).to_be_focused()
    assert in_viewport(page, summary)  # not left at the top of a long page, off-screen
    expect(summary.get_by_role("listitem")).to_have_count(4)
    for name, message in (
        ("environment", "This field is required."),
        ("version", "does not match"),
        ("replicas", "greater than or equal to 1"),
        ("options", "Not valid JSON"),
    ):
        error = page.locator(f"#id_{name}_error")
        expect(error).to_contain_text(message)
        expect(page.locator(f"#id_{name}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_version")).to_have_value("-bad")  # the input is kept
    expect(page.get_by_label("api_token")).to_have_value("")  # a secret never comes back
    expect(page.locator(".secret-note")).to_contain_text("type it again")
    summary.get_by_role("link", name="options").click()
    assert focused_id(page) == "id_options"
    assert in_viewport(page, page.locator("#id_options"))
    no_sideways_scroll(page)
    assert not Execution.objects.exists()


def test_keyboard_alone_from_the_summary_to_the_field_and_run(alice_page):
    page = alice_page
    page.goto(f"{page.portal_url}/actions/demo.deploy")
    page.locator("#id_version").fill("1.4.2")
    page.get_by_role("button", name="Run demo.deploy").click()
    expect(page.locator("#error-summary")).to_be_focused()
    page.keyboard.press("Tab")  # the summary's first link
    assert page.evaluate("document.activeElement.textContent") == "environment"
    page.keyboard.press("Enter")
    assert focused_id(page) == "id_environment"
    outline = page.evaluate(
        """(() => { const style = getComputedStyle(document.activeElement);
           return [style.outlineStyle, style.boxShadow]; })()"""
    )
    assert outline[0] != "none" or outline[1] != "none", outline  # focus is visible
    page.keyboard.press("ArrowDown")  # a closed select takes arrows: "development"
    expect(page.locator("#id_environment")).to_have_value("development")
    page.locator("#id_version").press("Enter")  # Enter in a field runs the action
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f]{24}$"))
    assert Execution.objects.get().parameters["environment"] == "development"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_rows_show_and_send_their_items_defaults_and_a_boolean_may_stay_unset(
    alice_page, admin_api, viewport
):
    register_action(admin_api, "ports", PORTS)
    page = alice_page
    page.set_viewport_size(viewport)
    page.goto(f"{page.portal_url}/actions/default.ports")
    first = page.get_by_role("group", name="targets item 1")
    expect(first.get_by_label("port")).to_have_value("22")
    first.get_by_label("host").fill("web")
    page.get_by_role("button", name="Add a row to targets").click()
    second = page.get_by_role("group", name="targets item 2")
    expect(second.get_by_label("port")).to_have_value("22")  # a row added by forms.js too
    expect(second.get_by_label("host")).to_be_focused()
    second.get_by_label("host").fill("db")
    second.get_by_label("port").fill("2222")
    expect(page.locator("#preview-curl")).to_contain_text('"port": 22}')
    expect(page.get_by_label("loud")).to_have_value("")  # three states, untouched: not set
    no_sideways_scroll(page)
    page.get_by_role("button", name="Run default.ports").click()
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f]{24}$"))
    parameters = Execution.objects.get().parameters
    assert parameters["targets"] == [{"host": "web", "port": 22}, {"host": "db", "port": 2222}]
    assert "loud" not in parameters


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_rule_editor_typed_parameters_jinja_switch_errors_at_once_then_the_webhook(
    alice_page, viewport
):
    page = alice_page
    page.context.add_init_script(NO_CSP_VIOLATION)
    page.set_viewport_size(viewport)
    page.goto(f"{page.portal_url}/rules/new")
    page.get_by_label("Name").fill("bad name!")
    page.get_by_label("url").fill("deploys")
    page.get_by_label("Action").select_option("core.http")
    timeout = page.locator("#id_action-timeout")
    expect(timeout).to_have_attribute("type", "number")  # htmx loaded the typed fields
    expect(page.locator("#id_action-password")).to_have_attribute("type", "password")
    expect(page.locator("#id_action-method")).to_have_js_property("tagName", "SELECT")
    page.get_by_role("button", name="Use a Jinja expression for timeout").click()
    expect(timeout).to_have_attribute("type", "text")
    expect(timeout).to_be_focused()
    timeout.fill("{{ trigger.body.wait }}")

    key = page.locator("#criteria-0-key")
    operator, pattern = page.locator("#criteria-0-type"), page.locator("#criteria-0-pattern")
    if viewport is DESKTOP:  # key, operator and pattern side by side on one line, not stacked
        boxes = [box.bounding_box() for box in (key, operator, pattern)]
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert right["x"] >= left["x"] + left["width"]
            assert abs(middle(left) - middle(right)) < left["height"] / 2
    key.fill("trigger.body.env")
    pattern.fill("prod")
    page.get_by_role("button", name="Add a criterion").click()
    added = page.locator(".criteria-row").last
    expect(added.get_by_label("Key")).to_be_focused()
    expect(added).to_have_attribute("aria-label", "Criterion 3")
    added.get_by_label("Pattern").fill("orphan")  # no key: refused beside the row
    page.locator("#id_action-url").fill("")  # required, left empty
    page.get_by_role("button", name="Save rule").click()

    summary = page.locator("#error-summary")
    expect(page.locator("#error-summary")).to_be_focused()
    assert in_viewport(page, summary)
    expect(summary).to_contain_text("3 problems to fix")
    expect(page.locator("#id_name_error")).to_contain_text("letters")
    expect(page.locator("#id_action-url_error")).to_contain_text("required")
    expect(page.locator("#criteria-1-error")).to_contain_text("needs a key")
    expect(page.locator("#id_name")).to_have_value("bad name!")
    expect(page.locator("#id_action-timeout")).to_have_value("{{ trigger.body.wait }}")
    summary.get_by_role("link", name="Criterion 2").click()
    assert focused_id(page) == "criteria-1-key"
    no_sideways_scroll(page)

    page.locator("#id_name").fill("on_deploy")
    page.locator("#criteria-1-pattern").fill("")
    page.locator("#id_action-url").fill("https://example.com/{{ trigger.body.path }}")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("default.on_deploy")
    rule = Rule.objects.get()
    assert rule.action_parameters["timeout"] == "{{ trigger.body.wait }}"
    assert rule.criteria == {"trigger.body.env": {"type": "equals", "pattern": "prod"}}

    expect(page.locator("#webhook-url")).to_have_text(f"{page.portal_url}/api/v1/webhooks/deploys")
    curl = page.locator("#webhook-curl")
    expect(curl).to_contain_text("St2-Api-Key: <your API key>")
    expect(curl).to_contain_text('{"env": "prod"}')
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    no_sideways_scroll(page)
    assert page.evaluate("window.cspViolations || []") == []


UNNAMED_CONTROLS = """[...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter(el => !el.closest('template') && el.getAttribute('aria-hidden') !== 'true')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.textContent.trim())
  .map(el => el.outerHTML.slice(0, 80))"""


def test_every_control_of_the_forms_is_labelled_before_and_after_errors(alice_page, admin_api):
    register_action(admin_api, "ports", PORTS)
    page = alice_page
    for path in (
        "/actions/default.ports",
        "/actions/demo.every_type",
        "/rules/new?action_ref=core.http",
    ):
        page.goto(f"{page.portal_url}{path}")
        assert page.evaluate(UNNAMED_CONTROLS) == [], path
    for path in ("/actions/demo.every_type", "/rules/new?action_ref=core.http"):
        page.goto(f"{page.portal_url}{path}")
        page.get_by_role("button", name=re.compile("^(Run|Save)")).last.click()
        expect(page.locator("#error-summary")).to_be_visible()
        assert page.evaluate(UNNAMED_CONTROLS) == [], path
