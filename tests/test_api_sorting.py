"""sort= and paging answers as StackStorm gives them (issue 17, notes §1.6): the lists that
declare `sort` order by the filter names it gives ("-" descending), ignore other names, and
otherwise keep their default order; huge offsets are refused in each resource's words."""

import pytest

from st2bridge import dispatch
from st2bridge.models import Trigger

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def listed(api, path, field="ref"):
    response = api.get(path)
    assert response.status_code == 200, response.content
    return [item[field] for item in response.json()]


def test_packs_sort_by_ref_or_name(alice_api):
    default = listed(alice_api, "/api/v1/packs")
    assert default == sorted(default)
    assert listed(alice_api, "/api/v1/packs?sort=-ref") == sorted(default, reverse=True)
    assert listed(alice_api, "/api/v1/packs?sort=-name") == sorted(default, reverse=True)
    assert listed(alice_api, "/api/v1/packs?sort=version") == default  # not a filter: ignored


def test_runner_types_sort_by_name(alice_api):
    default = listed(alice_api, "/api/v1/runnertypes", "name")
    assert default == sorted(default)
    assert listed(alice_api, "/api/v1/runnertypes?sort=-name", "name") == default[::-1]


def test_trigger_types_sort_by_pack_and_name(admin_api):
    body = {"name": "a_type", "pack": "zeta"}
    assert admin_api.post("/api/v1/triggertypes", body, format="json").status_code == 201
    default = listed(admin_api, "/api/v1/triggertypes")
    assert default == sorted(default) and default[-1] == "zeta.a_type"
    by_name = listed(admin_api, "/api/v1/triggertypes?sort=name")
    assert by_name[0] == "zeta.a_type"
    assert listed(admin_api, "/api/v1/triggertypes?sort=-pack")[0] == "zeta.a_type"


def test_trigger_instances_sort_by_trigger(admin_api):
    for ref in ("core.st2.generic.actiontrigger", "core.st2.sensor.process_spawn"):
        trigger = Trigger.objects.filter(ref=ref).first() or Trigger(ref=ref, type=ref)
        dispatch.dispatch(trigger, {})
    newest_first = listed(admin_api, "/api/v1/triggerinstances", "trigger")
    assert newest_first[0] == "core.st2.sensor.process_spawn"
    ascending = listed(admin_api, "/api/v1/triggerinstances?sort=trigger", "trigger")
    assert ascending == sorted(newest_first)


def test_huge_offsets_are_refused_in_each_resources_words(alice_api):
    offset = 2**31
    for path in ("/api/v1/executions", "/api/v1/packs", "/api/v1/keys"):
        refused = alice_api.get(f"{path}?offset={offset}")
        assert refused.status_code == 400
        assert refused.json()["faultstring"] == (
            f'Offset "{offset}" specified is more than 32-bit int'
        )
    refused = alice_api.get(f"/api/v1/apikeys?offset={offset}")
    assert refused.json()["faultstring"] == f'Offset "{offset}" specified is more than 32 bit int'
