"""Portal catalog pages: packs, action search and the action page, through Django's test
Client, the portal reaching the embedded API of a live server over HTTP with St2Client."""

import re
from urllib.parse import urlsplit

import pytest

from portal.catalog import parameter_rows, search_actions
from st2bridge.client import St2Client
from st2bridge.models import Action, Pack

from .portal_support import ESCAPED, SCRIPT, api_as, browser


def listed_refs(page):
    return re.findall(r'<a href="/actions/([^"]+)">', page)


@pytest.fixture
def api_calls(monkeypatch):
    """The portal's calls to the API (method, path), as its St2Client makes them."""
    calls = []
    real = St2Client._request

    def recorded(client, method, url, **kwargs):
        calls.append((method, urlsplit(url).path))
        return real(client, method, url, **kwargs)

    monkeypatch.setattr(St2Client, "_request", recorded)
    return calls


def add_packs(count, actions_each, prefix="bulk"):
    """`count` packs of `actions_each` actions, straight into the database."""
    Pack.objects.bulk_create(
        Pack(ref=f"{prefix}{p:02d}", name=f"{prefix}{p:02d}") for p in range(count)
    )
    Action.objects.bulk_create(
        Action(
            ref=f"{prefix}{p:02d}.a{n:03d}",
            pack=f"{prefix}{p:02d}",
            name=f"a{n:03d}",
            description=f"Bulk action {n} restarts a service",
            runner_type="noop",
        )
        for p in range(count)
        for n in range(actions_each)
    )


def test_packs_page_shows_each_pack_with_its_count_linking_to_its_actions(alice_browser):
    page = alice_browser.get("/packs").content.decode()
    for pack in ("core", "default", "demo"):
        assert f'id="pack-{pack}"' in page
    core_count = len(api_as("alice").list_actions(pack="core"))
    assert (
        f'<a href="/actions?pack=core">{core_count} actions'
        '<span class="visually-hidden"> of core</span></a>'
    ) in page
    demo = alice_browser.get("/actions?pack=demo").content.decode()
    assert "<h1>Actions of demo</h1>" in demo
    assert listed_refs(demo) == [
        "demo.deploy", "demo.every_type", "demo.fetch_status", "demo.greet", "demo.notes"
    ]  # fmt: skip


def test_pack_without_actions_says_so(alice_browser):
    Pack.objects.create(ref="bare", name="Bare", metadata={"description": ""})
    page = alice_browser.get("/packs").content.decode()
    entry = page[page.index('id="pack-bare"') :].split("</li>")[0]
    assert '<span class="text-body-secondary">No actions</span>' in entry
    assert "<p" not in entry  # no empty description paragraph


@pytest.mark.parametrize("url", ["/packs", "/actions", "/actions?q=echo"])
def test_no_entry_ends_in_a_dangling_dash(alice_browser, url):
    """Issue 14: the packs page read "core.echo —", the description wrapped to a line of its
    own. Descriptions are blocks under the link now, with no separator."""
    Action.objects.create(ref="default.undescribed", pack="default", name="undescribed")
    page = alice_browser.get(url).content.decode()
    assert "core.echo" in page or url == "/packs"
    assert not re.search(r"</a>\s*(—|-|–)", page)


def test_actions_page_lists_the_first_page_in_the_apis_order(alice_browser):
    page = alice_browser.get("/actions").content.decode()
    refs = listed_refs(page)
    assert {"core.local", "core.noop", "demo.deploy", "demo.greet"} <= set(refs)
    assert refs == sorted(refs)
    assert f"{len(refs)} actions." in page


def test_actions_are_paged_25_at_a_time_with_links_that_keep_the_filters(alice_browser):
    add_packs(1, 60)
    first = alice_browser.get("/actions?pack=bulk00").content.decode()
    assert listed_refs(first) == [f"bulk00.a{n:03d}" for n in range(25)]
    assert "60 actions, page 1 of 3." in first
    assert '<a class="page-link" rel="next" href="?pack=bulk00&amp;page=2">Next</a>' in first
    assert '<a class="page-link" href="?pack=bulk00&amp;page=3">Last</a>' in first
    second = alice_browser.get("/actions?pack=bulk00&page=2").content.decode()
    assert listed_refs(second) == [f"bulk00.a{n:03d}" for n in range(25, 50)]
    assert 'rel="prev" href="?pack=bulk00&amp;page=1"' in second
    searched = alice_browser.get("/actions?q=restarts+bulk00&page=3").content.decode()
    assert listed_refs(searched) == [f"bulk00.a{n:03d}" for n in range(50, 60)]
    assert "60 actions matching “restarts bulk00”, page 3 of 3." in searched
    assert 'href="?q=restarts+bulk00&amp;page=1">First</a>' in searched


def test_a_page_past_the_last_goes_to_the_last(alice_browser):
    add_packs(1, 30)
    response = alice_browser.get("/actions?pack=bulk00&page=9")
    assert response.status_code == 302
    assert response["Location"] == "/actions?pack=bulk00&page=2"
    assert alice_browser.get("/packs?page=5")["Location"] == "/packs?page=1"


def test_catalog_pages_cost_the_same_api_calls_at_any_catalog_size(alice_browser, api_calls):
    urls = ["/actions", "/actions?q=restarts+service", "/actions?pack=core", "/packs"]

    def calls():
        counted = {}
        for url in urls:
            api_calls.clear()
            assert alice_browser.get(url).status_code == 200
            counted[url] = list(api_calls)
        return counted

    calls()  # the server's extensions are asked once in a while, not on every page
    small = calls()
    add_packs(40, 100)
    assert calls() == small
    assert small["/actions"] == [("GET", "/api/v1/actions")]
    assert small["/actions?q=restarts+service"] == [("GET", "/api/v1/actions")]
    assert small["/packs"] == [
        ("GET", "/api/v1/packs"),
        ("GET", "/api/v1/packs/views/action_counts"),
    ]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("noop", ["core.noop"]),  # name
        ("SSH sudo", ["core.remote_sudo"]),  # description, every word, any case
        (  # pack
            "demo",
            ["demo.deploy", "demo.every_type", "demo.fetch_status", "demo.greet", "demo.notes"],
        ),
        ("nothing-matches-this", []),
    ],
)
def test_search_filters_and_keeps_the_query(alice_browser, query, expected):
    response = alice_browser.get("/actions", {"q": query})
    page = response.content.decode()
    assert listed_refs(page) == expected
    assert f'name="q" value="{query}"' in page
    if not expected:
        assert "No actions match." in page


def test_search_finds_tags(alice_browser, admin_api):
    body = {
        "name": "tagged",
        "pack": "default",
        "runner_type": "noop",
        "tags": [{"name": "team", "value": "payments"}],
    }
    assert admin_api.post("/api/v1/actions", body, format="json").status_code == 201
    page = alice_browser.get("/actions?q=payments").content.decode()
    assert listed_refs(page) == ["default.tagged"]
    assert ">team=payments</span>" in page


def test_search_within_a_pack_keeps_the_pack(alice_browser):
    page = alice_browser.get("/actions?q=local&pack=core").content.decode()
    assert listed_refs(page) == ["core.local", "core.local_sudo"]
    assert '<input type="hidden" name="pack" value="core">' in page
    assert '<a href="/actions?q=local">Search every pack</a>' in page


@pytest.mark.parametrize(
    "query, problem",
    [
        ("x" * 201, "Search with at most 200 characters."),
        (" ".join("w" * 11), "Search with at most 10 words."),
    ],
)
def test_a_search_the_server_would_refuse_is_shown_beside_the_field(alice_browser, query, problem):
    response = alice_browser.get("/actions", {"q": query})
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<div class="invalid-feedback d-block" id="q-problem" role="alert">{problem}</div>' in page
    )
    assert f'value="{query}"' in page and 'aria-invalid="true"' in page


def test_search_form_works_without_javascript(alice_browser):
    page = alice_browser.get("/actions").content.decode()
    assert '<form class="search mb-2" method="get" action="/actions" role="search">' in page
    assert '<label class="form-label" for="q">Search actions</label>' in page
    assert '<script src="/static/js/catalog.js" defer></script>' in page


def test_action_page_shows_runner_and_parameters_in_order(alice_browser, portal):
    page = alice_browser.get("/actions/demo.deploy").content.decode()
    assert "<h1>demo.deploy</h1>" in page
    assert "<code>local-shell-script</code>" in page
    assert "Pretends to deploy a version" in page
    merged = api_as("alice").action_parameters("demo.deploy")
    names = [row["name"] for row in parameter_rows(merged)]
    assert names[:2] == ["environment", "version"]  # positions 0 and 1 come first
    shown = re.findall(r'<th scope="row"><code>(\w+)</code>', page)
    assert shown == names
    token_row = page[page.index("<code>api_token</code>") :].split("</tr>")[0]
    assert '<span class="badge secret">secret</span>' in token_row
    environment_row = page[page.index("<code>environment</code>") :].split("</tr>")[0]
    assert '<span class="badge required">required</span>' in environment_row
    assert "one of: development, staging, production" in environment_row
    assert "You have not run this action yet." in page


def test_action_page_shows_the_users_recent_executions(alice_browser, portal, bob, admin_user):
    alice = api_as("alice")
    mine = [alice.launch("core.noop")["id"] for _ in range(12)]
    others = [api_as("bob").launch("core.noop")["id"], api_as("admin").launch("core.noop")["id"]]
    alice.launch("core.echo", {"message": "elsewhere"})

    page = alice_browser.get("/actions/core.noop").content.decode()
    shown = re.findall(r"<td><code>([0-9a-f]{24})</code></td>", page)
    assert shown == list(reversed(mine))[:10]  # newest first, ten at most
    assert "10 of 12 shown." in page
    assert not set(others) & set(page.split())

    admin_page = browser("admin").get("/actions/core.noop").content.decode()
    assert re.findall(r"<td><code>([0-9a-f]{24})</code></td>", admin_page) == [others[1]]


def test_unknown_action_is_404(alice_browser):
    assert alice_browser.get("/actions/core.nope").status_code == 404


def test_script_in_an_action_description_renders_inert(alice_browser, admin_api):
    body = {
        "name": "xss",
        "pack": "default",
        "runner_type": "noop",
        "description": SCRIPT,
        "tags": [{"name": SCRIPT, "value": '"><img src=x onerror=alert(1)>'}],
    }
    response = admin_api.post("/api/v1/actions", body, format="json")
    assert response.status_code == 201, response.json()
    for url in ("/actions?pack=default", "/actions?q=alert", "/actions/default.xss"):
        page = alice_browser.get(url).content.decode()
        assert "default.xss" in page, url
        assert SCRIPT not in page, url
        assert "<img" not in page, url
        assert ESCAPED in page, url


# --- the pure helpers ----------------------------------------------------------------------


def test_search_matches_every_word_across_fields_keeping_the_order():
    actions = [
        {"ref": "b.two", "name": "two", "pack": "b", "tags": [{"name": "service"}]},
        {"ref": "a.one", "name": "one", "pack": "a", "description": "Restart a service"},
        {"ref": "a.three", "name": "three", "pack": "a"},
    ]
    assert [a["ref"] for a in search_actions(actions, "service")] == ["b.two", "a.one"]
    assert [a["ref"] for a in search_actions(actions, "A.  RESTART")] == ["a.one"]
    assert [a["ref"] for a in search_actions(actions, "")] == ["b.two", "a.one", "a.three"]


def test_parameter_rows_mask_secret_defaults_and_show_values_as_json():
    rows = parameter_rows(
        {
            "password": {"type": "string", "secret": True, "default": "hunter2"},
            "hosts": {"type": "array", "default": ["a", "b"], "required": True},
            "flag": {"type": "boolean", "default": False},
            "first": {"type": "string", "position": 0},
        }
    )
    by_name = {row["name"]: row for row in rows}
    assert [row["name"] for row in rows] == ["first", "hosts", "flag", "password"]
    assert by_name["password"]["default"] == "********"
    assert by_name["hosts"]["default"] == '["a", "b"]'
    assert by_name["flag"]["default"] == "false" and by_name["flag"]["has_default"]
    assert not by_name["first"]["has_default"]
