"""Launch templates in the portal (issue 18), through Django's test Client and the portal's
St2Client reaching a live server's embedded API: staff make a template from an action's page,
edit it (a new version), export and import it; a member granted only the template runs it
from a form of the exposed fields, and a tampered post cannot change a fixed value."""

import pytest
import yaml
from django.contrib.auth.models import Group

from st2bridge.models import Execution, LaunchTemplate, TeamAccess

from .portal_support import error_beside
from .test_api_templates import DEPLOY, REF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def template(portal, admin_api):
    response = admin_api.post("/api/v1/templates", DEPLOY, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def granted(template, alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, templates=[REF])
    group.user_set.add(alice)


def editor_post(**changes):
    """The editor's post for DEPLOY as a person fills it in."""
    data = {
        "ref": REF,
        "name": "Deploy to staging",
        "description": "",
        "environment__mode": "shown",
        "environment__value": "staging",
        "dry_run__mode": "fixed",
        "dry_run__value": "true",
        "version__mode": "exposed",
        "version__value": "1.0.0",
        "version__pattern": r"^1\.[0-9]+\.[0-9]+$",
        "replicas__mode": "exposed",
        "replicas__value": "2",
        "replicas__minimum": "1",
        "replicas__maximum": "4",
        "api_token__mode": "exposed",
    }
    data.update(changes)
    return data


# --- staff ----------------------------------------------------------------------------------


def test_the_action_page_offers_staff_to_make_a_template(admin_browser, alice_browser):
    link = 'href="/templates/new?action=demo.deploy">Make a template</a>'
    assert link in admin_browser.get("/actions/demo.deploy").content.decode()
    assert link not in alice_browser.get("/actions/demo.deploy").content.decode()


def test_staff_create_a_template_from_the_editor(admin_browser):
    page = admin_browser.get("/templates/new?action=demo.deploy").content.decode()
    assert 'name="replicas__maximum"' in page and 'name="version__pattern"' in page
    assert 'name="sudo__mode"' not in page  # immutable in demo.deploy
    response = admin_browser.post("/templates/new", {"action": "demo.deploy", **editor_post()})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == f"/templates/{REF}"
    template = LaunchTemplate.objects.get(ref=REF)
    assert template.version == 1 and template.action_ref == "demo.deploy"
    page = admin_browser.get(response["Location"]).content.decode()
    assert "Fixed and hidden from its users: <code>dry_run</code>" in page


def test_the_editor_shows_refusals_beside_their_field_and_keeps_the_input(admin_browser):
    data = {"action": "demo.deploy", **editor_post(replicas__maximum="30", ref="ops.x")}
    response = admin_browser.post("/templates/new", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "replicas__maximum").startswith(
        "parameters.replicas.maximum: 30 is above the action's maximum 20"
    )
    assert 'value="ops.x"' in page and 'value="30"' in page
    response = admin_browser.post("/templates/new", {**data, "replicas__maximum": "4", "ref": "x"})
    assert error_beside(response.content.decode(), "ref").startswith("ref: 'x' does not match")
    response = admin_browser.post(
        "/templates/new", {**data, "replicas__maximum": "4", "replicas__value": "many"}
    )
    assert "is not of type" in error_beside(response.content.decode(), "replicas__value")
    assert not LaunchTemplate.objects.exists()


def test_an_edit_saves_a_new_version(admin_browser, template):
    page = admin_browser.get(f"/templates/{REF}/edit").content.decode()
    assert 'value="4"' in page  # the maximum, as saved
    response = admin_browser.post(f"/templates/{REF}/edit", editor_post(replicas__maximum="3"))
    assert response.status_code == 302, response.content.decode()
    assert LaunchTemplate.objects.get(ref=REF).version == 2
    page = admin_browser.get(f"/templates/{REF}").content.decode()
    assert "Version 2: Deploy to staging, by admin" in page


def test_export_then_import_gives_the_template_back(admin_browser, template):
    response = admin_browser.get(f"/templates/{REF}/export")
    assert response["Content-Type"].startswith("application/x-yaml")
    text = response.content.decode()
    assert yaml.safe_load(text)["ref"] == REF
    LaunchTemplate.objects.all().delete()
    response = admin_browser.post("/templates/import", {"document": text})
    assert response.status_code == 302, response.content.decode()
    assert LaunchTemplate.objects.get(ref=REF).version == 2


def test_a_bad_import_is_shown_beside_the_document_with_it_kept(admin_browser, portal):
    response = admin_browser.post("/templates/import", {"document": "a: [1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "document").startswith("body: not valid YAML")
    assert ">a: [1</textarea>" in page


def test_members_cannot_reach_the_staff_pages(alice_browser, granted):
    staff_pages = (
        "/templates/new?action=demo.deploy",
        f"/templates/{REF}/edit",
        f"/templates/{REF}/export",
        "/templates/import",
        f"/templates/{REF}/delete",
    )
    for path in staff_pages:
        assert alice_browser.get(path).status_code == 403, path
    assert alice_browser.post(f"/templates/{REF}/delete").status_code == 403
    assert LaunchTemplate.objects.filter(ref=REF).exists()


# --- members ----------------------------------------------------------------------------------


def test_members_see_their_templates_in_the_list_and_the_dashboard(alice_browser, granted):
    assert (
        'href="/templates">launch templates</a>' in alice_browser.get("/actions").content.decode()
    )
    page = alice_browser.get("/templates").content.decode()
    assert f'href="/templates/{REF}">Deploy to staging</a>' in page
    assert (
        f'href="/templates/{REF}">Deploy to staging</a>' in alice_browser.get("/").content.decode()
    )


def test_the_run_form_has_only_the_exposed_fields_and_the_shown_fixed_one(alice_browser, granted):
    page = alice_browser.get(f"/templates/{REF}").content.decode()
    for name in ("version", "replicas", "api_token"):
        assert f'name="{name}"' in page, name
    assert 'name="dry_run"' not in page  # fixed and hidden
    environment = page[
        page.index('name="environment"') - 200 : page.index('name="environment"') + 200
    ]
    assert "disabled" in environment and 'value="staging"' in environment
    assert "Fixed and hidden" not in page  # staff's note only


def test_a_member_runs_the_template(alice_browser, granted):
    response = alice_browser.post(f"/templates/{REF}", {"version": "1.2.3", "replicas": "3"})
    assert response.status_code == 302, response.content.decode()
    execution = Execution.objects.get()
    assert execution.context["template"] == {"ref": REF, "version": 1}
    assert execution.parameters["environment"] == "staging"
    assert execution.parameters["dry_run"] is True
    assert execution.parameters["replicas"] == 3
    history = alice_browser.get(f"/executions?template={REF}").content.decode()
    assert execution.id in history and f'via template <a href="/templates/{REF}">' in history


def test_run_again_goes_through_the_template(alice_browser, granted, admin_api):
    response = alice_browser.post(f"/templates/{REF}", {"version": "1.2.3", "replicas": "3"})
    first = response["Location"].rsplit("/", 1)[1]
    Execution.objects.filter(pk=first).update(status="succeeded")  # no worker here
    status = alice_browser.get(f"/executions/{first}/status").content.decode()
    assert f'href="/templates/{REF}?rerun={first}">Run again</a>' in status
    assert f'<a href="/templates/{REF}">{REF}</a>, version 1' in status
    page = alice_browser.get(f"/templates/{REF}?rerun={first}").content.decode()
    assert 'value="1.2.3"' in page and f'name="rerun_of" value="{first}"' in page
    edited = {**DEPLOY, "parameters": {**DEPLOY["parameters"]}}
    edited["parameters"]["environment"] = {"mode": "fixed", "value": "development"}
    assert admin_api.put(f"/api/v1/templates/{REF}", edited, format="json").status_code == 200
    data = {"rerun_of": first, "version": "1.2.4", "replicas": "3"}
    response = alice_browser.post(f"/templates/{REF}", data)
    assert response.status_code == 302, response.content.decode()
    again = Execution.objects.get(pk=response["Location"].rsplit("/", 1)[1])
    assert again.context["re-run"] == {"ref": first}
    assert again.context["template"] == {"ref": REF, "version": 2}
    assert again.parameters["environment"] == "development"
    assert again.parameters["version"] == "1.2.4"
    tampered = alice_browser.post(f"/templates/{REF}", {**data, "environment": "production"})
    assert tampered.status_code == 400
    assert Execution.objects.count() == 2


def test_a_value_outside_the_narrowing_is_shown_beside_its_field(alice_browser, granted):
    response = alice_browser.post(f"/templates/{REF}", {"version": "2.0.0", "replicas": "9"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "4" in error_beside(page, "replicas")
    assert 'value="2.0.0"' in page
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    ("tampered", "message"),
    [
        ({"environment": "production"}, f'environment: fixed by launch template "{REF}"'),
        ({"dry_run": "false"}, f'dry_run: fixed by launch template "{REF}"'),
        ({"timeout": "1"}, f'timeout: not a parameter of launch template "{REF}"'),
    ],
)
def test_attack_a_tampered_form_post_is_refused(alice_browser, granted, tampered, message):
    data = {"version": "1.2.3", "replicas": "3", **tampered}
    response = alice_browser.post(f"/templates/{REF}", data)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&quot;", '"')
    assert not Execution.objects.exists()


def test_attack_the_raw_action_page_is_not_there_for_a_template_only_member(alice_browser, granted):
    assert alice_browser.get("/actions/demo.deploy").status_code == 404
    body = {"environment": "production", "version": "1.2.3"}
    assert alice_browser.post("/actions/demo.deploy", body).status_code == 404
    assert not Execution.objects.exists()


def test_a_grant_of_a_template_from_the_team_page(admin_browser, template, alice):
    group = Group.objects.create(name="ops")
    group.user_set.add(alice)
    page = admin_browser.get(f"/teams/{group.pk}?kind=template").content.decode()
    assert f'value="template:{REF}"' in page
    response = admin_browser.post(f"/teams/{group.pk}/grant", {"grant": [f"template:{REF}"]})
    assert response.status_code == 302, response.content.decode()
    assert TeamAccess.objects.get(group=group).templates == [REF]
    response = admin_browser.post(f"/teams/{group.pk}/revoke", {"revoke": [f"template:{REF}"]})
    assert response.status_code == 302
    assert TeamAccess.objects.get(group=group).templates == []
