"""Launch templates in a real browser (issue 18): staff make one from an action's page and
grant it to a team; the member runs it from its form, where the fixed environment is shown
read-only and the hidden dry_run is not there at all; a form tampered with in the browser
(the read-only field enabled and changed, a hidden field added) is refused, naming the field,
and nothing runs. A worker runs what is launched."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from st2bridge.models import Execution, LaunchTemplate

from .conftest import sign_in

REF = "ops.deploy_staging"


@pytest.fixture
def member_page(chromium, portal):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.portal_url = portal.url
    yield page
    context.close()


def choose(page, parameter, mode, **values):
    """Set what the template does with `parameter` in the editor."""
    page.locator(f'select[name="{parameter}__mode"]').select_option(mode)
    for key, value in values.items():
        page.locator(f'[name="{parameter}__{key}"]').fill(value)


def test_staff_make_a_template_and_a_member_runs_it_but_cannot_tamper(
    page, member_page, admin_user, alice, worker
):
    sign_in(page, "admin")
    page.goto(f"{page.portal_url}/actions/demo.deploy")
    page.get_by_role("link", name="Make a template").click()
    expect(page.get_by_role("heading", name="New launch template")).to_be_visible()
    page.get_by_label("Ref").fill(REF)
    page.get_by_label("Name").fill("Deploy to staging")
    choose(page, "environment", "shown", value="staging")
    choose(page, "dry_run", "fixed", value="true")
    choose(page, "version", "exposed", value="1.0.0", pattern=r"^1\.[0-9]+\.[0-9]+$")
    # A maximum above the action's is refused beside its field, the input kept.
    choose(page, "replicas", "exposed", value="2", minimum="1", maximum="30")
    page.get_by_role("button", name="Create the template").click()
    maximum = page.locator('[name="replicas__maximum"]')
    expect(maximum).to_have_attribute("aria-invalid", "true")
    expect(maximum).to_have_value("30")
    expect(page.locator("#id_replicas__maximum_error")).to_contain_text("action's maximum 20")
    maximum.fill("4")
    page.get_by_role("button", name="Create the template").click()
    expect(page.get_by_role("heading", name="Deploy to staging")).to_be_visible()
    assert LaunchTemplate.objects.get(ref=REF).version == 1

    team = Group.objects.create(name="ops")
    team.user_set.add(alice)
    page.goto(f"{page.portal_url}/teams/{team.pk}?kind=template")
    page.get_by_label(REF).check()
    page.get_by_role("button", name="Grant selected").click()
    expect(page.get_by_text(f"Granted to ops: {REF}.")).to_be_visible()

    sign_in(member_page, "alice")
    member_page.get_by_role("link", name="Deploy to staging").click()  # on the dashboard
    environment = member_page.locator('[name="environment"]')
    expect(environment).to_be_disabled()
    expect(environment).to_have_value("staging")
    expect(member_page.locator('[name="dry_run"]')).to_have_count(0)

    # Tampered: the read-only field enabled and changed, the hidden one added.
    member_page.get_by_label("version").fill("1.2.3")
    member_page.evaluate(
        """() => {
            const field = document.querySelector('[name="environment"]');
            field.disabled = false;
            field.value = 'production';
            const hidden = document.createElement('input');
            hidden.type = 'hidden'; hidden.name = 'dry_run'; hidden.value = 'false';
            document.getElementById('template-form').append(hidden);
        }"""
    )
    member_page.get_by_role("button", name="Run Deploy to staging").click()
    expect(member_page.locator("#id_environment_error")).to_contain_text(
        f'environment: fixed by launch template "{REF}"'
    )
    expect(member_page.locator('[name="version"]')).to_have_value("1.2.3")
    assert not Execution.objects.exists()

    # The form as served runs, with the fixed values.
    member_page.goto(f"{member_page.portal_url}/templates/{REF}")
    member_page.get_by_label("version").fill("1.2.3")
    member_page.get_by_role("button", name="Run Deploy to staging").click()
    expect(member_page.locator("#execution-status .status")).to_have_text("succeeded")
    execution = Execution.objects.get()
    assert execution.context["template"] == {"ref": REF, "version": 1}
    assert execution.parameters["environment"] == "staging"
    assert execution.parameters["dry_run"] is True
    assert execution.status == "succeeded"
