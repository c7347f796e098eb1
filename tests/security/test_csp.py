"""Attack: script injected into a page runs (issue 12, "no Content-Security-Policy"). Every page
answers with a Content-Security-Policy that allows scripts only from this site's files, and no
page needs more: no inline script, no inline event handler, no style attribute or <style>, no
htmx attribute that htmx would evaluate as code. The same pages in a real browser, with the
JavaScript features used, are in tests/browser/test_csp.py."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.portal_support import api_as

pytestmark = pytest.mark.django_db(transaction=True)

# What django-csp must send (portal/settings.py CONTENT_SECURITY_POLICY).
EXPECTED_DIRECTIVES = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "base-uri": {"'none'"},
    "object-src": {"'none'"},
}
# htmx attributes whose values htmx runs as JavaScript (blocked without 'unsafe-eval').
EVALUATING_ATTRIBUTES = ("hx-on", "data-hx-on", "hx-vars", "data-hx-vars")


def directives(response):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy header on {response.request['PATH_INFO']}"
    parsed = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        parsed[name] = set(values)
    return parsed


class InlineCode(HTMLParser):
    """Collects what a strict policy blocks: inline <script> code, on*= handlers, style
    attributes and <style> elements, javascript: URLs, htmx attributes evaluated as code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in attributes
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            elif name.startswith(EVALUATING_ATTRIBUTES):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif name in ("hx-trigger", "data-hx-trigger") and "[" in value:
                self.found.append(f"<{tag} {name}={value!r}> (a filter is evaluated)")
            elif name in ("hx-vals", "data-hx-vals") and value.lstrip().startswith("js:"):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif name in (
                "href",
                "src",
                "action",
                "formaction",
            ) and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")


def inline_code(response):
    parser = InlineCode()
    parser.feed(response.content.decode())
    parser.close()
    return parser.found


def assert_strict(response, path):
    assert response.status_code in (200, 201), (path, response.status_code)
    policy = directives(response)
    assert "'unsafe-inline'" not in policy["script-src"], path
    assert "'unsafe-eval'" not in policy["script-src"], path
    for name, values in EXPECTED_DIRECTIVES.items():
        assert policy.get(name) == values, (path, name, policy.get(name))
    assert inline_code(response) == [], path


@pytest.fixture
def alices_things(portal, alice):
    """An execution (still requested: no worker) and a rule of alice's, for their pages."""
    alice_client = api_as("alice")
    execution = alice_client.launch("core.local", {"cmd": "echo hi"})
    alice_client.create_rule(
        {
            "name": "on_push",
            "pack": "default",
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "push"}},
            "criteria": {"trigger.body.ref": {"type": "equals", "pattern": "main"}},
            "action": {"ref": "core.local", "parameters": {"cmd": "echo pushed"}},
        }
    )
    return {"execution": execution["id"], "rule": "default.on_push"}


def test_the_sign_in_pages_send_a_strict_policy(portal):
    anonymous = Client()
    for path in ("/login", "/admin/login/"):
        assert_strict(anonymous.get(path), path)


def test_every_portal_page_sends_a_strict_policy_and_needs_no_inline_code(
    alice_browser, alices_things
):
    execution, rule = alices_things["execution"], alices_things["rule"]
    pages = (
        "/",
        "/packs",
        "/actions",
        "/actions/demo.deploy",
        "/actions/demo.every_type",
        "/actions/core.local/preview",
        "/executions",
        f"/executions/{execution}",
        f"/executions/{execution}/status",
        "/rules",
        "/rules/new",
        f"/rules/{rule}",
        f"/rules/{rule}/edit",
        f"/rules/{rule}/delete",
        "/apikeys",
    )
    for path in pages:
        if path.endswith("/preview"):
            response = alice_browser.post(path, {"cmd": "echo hi"})
        else:
            response = alice_browser.get(path)
        assert_strict(response, path)


def test_a_new_api_key_and_its_copy_button_need_no_inline_code(alice_browser):
    response = alice_browser.post("/apikeys", {"name": "nightly"}, follow=True)
    assert b"will not be shown again" in response.content
    assert_strict(response, "/apikeys (new key)")


def test_the_rule_editor_reload_needs_no_inline_code(alice_browser):
    """The partial htmx swaps in when the action changes."""
    body = {"name": "x", "pack": "default", "trigger_type": "core.st2.webhook"}
    response = alice_browser.post("/rules/new", {**body, "action_ref": "core.local", "reload": "1"})
    assert_strict(response, "/rules/new (reload)")


def test_admin_pages_send_a_strict_policy_and_need_no_inline_code(portal, admin_user):
    staff = Client()
    staff.force_login(admin_user)
    for path in ("/admin/", "/admin/auth/group/", "/admin/auth/group/add/"):
        assert_strict(staff.get(path), path)


def test_the_page_of_everyones_keys_needs_no_inline_code(admin_browser):
    assert_strict(admin_browser.get("/manage/apikeys"), "/manage/apikeys")
