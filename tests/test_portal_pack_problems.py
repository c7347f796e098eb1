"""The portal shows what pack registration left out: admins see a badge with the problems on
the pack's entry (and those of no listed pack above the list); members do not. An action whose
runner cannot run here says so on its page. Django's test Client, the portal reaching the
live server's embedded API over HTTP."""

import html

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from portal.catalog import with_problems
from st2bridge.packs import register_packs

from .pack_support import NOOP_ACTION, write_pack

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broken(portal, tmp_path):
    write_pack(
        tmp_path,
        "shaky",
        {"ok.yaml": NOOP_ACTION.format(name="ok", description="d"), "bad.yaml": "name: bad\n"},
    )
    write_pack(tmp_path, "unreadable", pack_yaml="name: [\n")
    register_packs([*settings.ST2_PACKS_DIRS, tmp_path], [settings.ST2_RUNNER_TYPES_FILE])


def section(page, ref):
    start = page.index(f'id="pack-{ref}"')
    end = page.find('id="pack-', start + 1)  # the next pack's entry
    return page[start : end if end > 0 else len(page)]


def test_admins_see_the_problems_of_a_pack_on_its_entry(admin_browser, broken):
    page = html.unescape(admin_browser.get("/packs").content.decode())

    shaky = section(page, "shaky")
    assert "1 registration problem" in shaky
    assert "actions/bad.yaml</code>: 'runner_type' is a required property" in shaky
    assert "registration problem" not in section(page, "core")
    top = page[: page.index('id="pack-core"')]
    assert "1 registration problem</span> outside the listed packs" in top
    assert "pack.yaml</code>: line 2, column 1: expected the node content" in top


def test_members_see_no_problems(alice_browser, broken):
    page = alice_browser.get("/packs").content.decode()
    assert 'id="pack-shaky"' in page
    assert "registration problem" not in page


def test_an_action_that_cannot_run_here_says_so_on_its_page(alice_browser):
    page = html.unescape(alice_browser.get("/actions/core.remote").content.decode())
    assert 'cannot run here</span> Runner "remote-shell-cmd" cannot run on this server' in page
    assert "cannot run here" not in alice_browser.get("/actions/core.local").content.decode()


def test_with_problems_groups_them_by_pack_errors_first():
    # Packs come a page at a time: a problem of a pack on another page is not "unplaced".
    packs = [{"ref": "a"}, {"ref": "b"}]
    problems = [
        {"pack": "a", "level": "warning", "reason": "w"},
        {"pack": "a", "level": "error", "reason": "e"},
        {"pack": "", "level": "error", "reason": "no pack"},
        {"pack": "gone", "level": "error", "reason": "unlisted"},
    ]

    marked, unplaced = with_problems(packs, problems)

    assert [problem["reason"] for problem in marked[0]["registration_problems"]] == ["e", "w"]
    assert marked[1]["registration_problems"] == []
    assert [problem["reason"] for problem in unplaced] == ["no pack"]


def test_an_admin_demoted_since_sign_in_gets_the_page_without_problems(admin_browser, broken):
    get_user_model().objects.filter(username="admin").update(is_staff=False, is_superuser=False)

    response = admin_browser.get("/packs")

    assert response.status_code == 200
    assert "registration problem" not in response.content.decode()
