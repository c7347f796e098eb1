"""The official st2 CLI (st2client 3.9.0) against launch templates (issue 18): a member granted
only a template cannot change a fixed value with `st2 run` nor `st2 execution re-run`, and a
re-run of a template's execution goes through the template whoever asks. No worker runs:
each launch is asynchronous (-a) or refused, and the database says what was recorded."""

import pytest
from django.contrib.auth.models import Group

from st2bridge.models import Execution, TeamAccess

from .catalog_support import register_bundled_packs
from .cli_support import async_execution_id, output, signed_in
from .test_api_templates import DEPLOY, REF

pytestmark = [pytest.mark.cli, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def template_run(live_server, admin_api, alice):
    """A run of the template by alice, who is granted the template only."""
    register_bundled_packs()
    assert admin_api.post("/api/v1/templates", DEPLOY, format="json").status_code == 201
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, templates=[REF])
    group.user_set.add(alice)
    from .conftest import client_for

    response = client_for(alice).post(
        f"/api/v1/templates/{REF}/run", {"parameters": {"version": "1.2.3"}}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_attack_st2_run_of_the_raw_action_is_refused(live_server, tmp_path, template_run):
    st2 = signed_in(live_server.url, tmp_path / "alice", "alice")
    result = st2("run", "demo.deploy", "environment=production", "version=1.2.3", "-a")
    assert result.returncode != 0, output(result)
    # The CLI reads the action first: it is not there for her (the server's 403 is
    # test_api_templates.py's test_attack_raw_execution_of_the_action_is_refused).
    assert 'Resource with id or reference "demo.deploy" doesn\'t exist.' in result.stdout
    assert Execution.objects.count() == 1  # the template's run only


def test_attack_st2_execution_re_run_with_a_fixed_value_is_refused(
    live_server, tmp_path, template_run
):
    st2 = signed_in(live_server.url, tmp_path / "alice", "alice")
    result = st2("execution", "re-run", template_run["id"], "environment=production", "-a")
    assert result.returncode != 0, output(result)
    # As for `st2 run`, the CLI reads the action before it asks for the re-run, and fails on
    # its absence; the server refuses the fixed value whoever asks (the next test, and
    # test_api_templates.py). Members re-run from the portal or the API.
    assert "'NoneType' object has no attribute 'runner_type'" in result.stdout
    assert Execution.objects.count() == 1
    assert Execution.objects.get().parameters["environment"] == "staging"


def test_st2_execution_re_run_goes_through_the_template(live_server, tmp_path, template_run):
    st2 = signed_in(live_server.url, tmp_path / "admin", "admin")
    result = st2("execution", "re-run", template_run["id"], "environment=production", "-a")
    assert result.returncode == 1, output(result)
    message = f'MESSAGE: environment: fixed by launch template "{REF}"; it cannot be set.'
    assert message in result.stdout, output(result)
    new_id = async_execution_id(st2("execution", "re-run", template_run["id"], "replicas=3", "-a"))
    again = Execution.objects.get(pk=new_id)
    assert again.context["template"] == {"ref": REF, "version": 1}
    assert again.parameters["environment"] == "staging"
    assert again.parameters["replicas"] == 3 and again.parameters["version"] == "1.2.3"
