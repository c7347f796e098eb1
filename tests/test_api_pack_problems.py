"""GET /api/v1/packs/views/problems (an extension, named in GET /api/v1/extensions): what pack
registration could not take, or took with a warning, for admins only."""

import pytest
from django.conf import settings

from st2bridge.packs import register_packs

from .pack_support import NOOP_ACTION, write_pack

pytestmark = pytest.mark.django_db
LOST_RULE = "name: lost\ntrigger: {type: nowhere.event}\naction: {ref: good.ok}\n"


@pytest.fixture
def broken_packs(tmp_path):
    write_pack(tmp_path, "bad", {"x.yaml": "name: x\nrunner_type: nope\n"})
    write_pack(
        tmp_path,
        "good",
        {"ok.yaml": NOOP_ACTION.format(name="ok", description="d")},
        rules={"lost.yaml": LOST_RULE},
    )
    write_pack(tmp_path, "unreadable", pack_yaml="name: [\n")
    register_packs([tmp_path], [settings.ST2_RUNNER_TYPES_FILE])
    return tmp_path.resolve()


def test_extensions_name_it(alice_api):
    extensions = alice_api.get("/api/v1/extensions").json()
    assert extensions["pack_problems"] is True
    assert extensions["runner_support"] is True and extensions["rule_warnings"] is True


def test_admins_list_every_problem(admin_api, broken_packs):
    response = admin_api.get("/api/v1/packs/views/problems")

    assert response.status_code == 200
    assert response["X-Total-Count"] == "3"
    assert response.json() == [
        {
            "pack": "",
            "directory": str(broken_packs / "unreadable"),
            "file": "pack.yaml",
            "reason": "line 2, column 1: expected the node content, but found '<stream end>'",
            "level": "error",
        },
        {
            "pack": "bad",
            "directory": str(broken_packs / "bad"),
            "file": "actions/x.yaml",
            "reason": "RunnerType nope is not found. If you are using old and deprecated runner "
            "name, you need to switch to a new one. For more information, please see "
            "https://docs.stackstorm.com/upgrade_notes.html#st2-v0-9",
            "level": "error",
        },
        {
            "pack": "good",
            "directory": str(broken_packs / "good"),
            "file": "rules/lost.yaml",
            "reason": 'rule good.lost: trigger type "nowhere.event" is not registered: the rule '
            "cannot fire until a pack (or the API) registers it.",
            "level": "warning",
        },
    ]


@pytest.mark.parametrize(
    ("query", "packs"),
    [("pack=bad", ["bad"]), ("level=warning", ["good"]), ("pack=none", [])],
)
def test_filters(admin_api, broken_packs, query, packs):
    response = admin_api.get(f"/api/v1/packs/views/problems?{query}")
    assert [problem["pack"] for problem in response.json()] == packs


def test_members_are_refused(alice_api, broken_packs):
    response = alice_api.get("/api/v1/packs/views/problems")
    assert response.status_code == 403
    assert response.json() == {
        "faultstring": 'User "alice" may not read pack registration problems: administrator '
        "access is required."
    }


def test_a_pack_named_views_is_still_a_pack(admin_api, tmp_path):
    write_pack(tmp_path, "views", {"a.yaml": NOOP_ACTION.format(name="a", description="d")})
    register_packs([tmp_path], [settings.ST2_RUNNER_TYPES_FILE])

    assert admin_api.get("/api/v1/packs/views").json()["ref"] == "views"
