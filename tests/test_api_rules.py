"""/api/v1/rules: CRUD, defaults, validation naming the field, the `st2 rule enable` round
trip, filters and limits, secret masking, owner-only changes and the shared, reference-counted
triggers behind rules (notes §5.1-5.3, checklist 63-70)."""

from urllib.parse import quote

import pytest

from st2bridge.models import Rule, Trigger
from tests.catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
MASK = "********"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def rule_body(name="on_hook", url="hook1", **extra):
    body = {
        "name": name,
        "pack": "demo",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url}},
        "criteria": {"trigger.body.name": {"type": "equals", "pattern": "st2"}},
        "action": {"ref": "core.local", "parameters": {"cmd": "echo {{ trigger.body.name }}"}},
    }
    body.update(extra)
    return body


def post(api, body):
    return api.post("/api/v1/rules", body, format="json")


def created(api, body):
    response = post(api, body)
    assert response.status_code == 201, response.json()
    return response.json()


def put(api, ref_or_id, body):
    return api.put(f"/api/v1/rules/{ref_or_id}", body, format="json")


def fault(response, status=400):
    assert response.status_code == status, response.json()
    return response.json()["faultstring"]


def webhook_triggers():
    return list(Trigger.objects.filter(type="core.st2.webhook"))


# --- create, read, defaults ------------------------------------------------------------------


def test_create_returns_the_rule_with_stackstorm_defaults(alice_api):
    body = rule_body()
    del body["pack"]
    rule = created(alice_api, body)
    assert rule["ref"] == "default.on_hook"
    assert rule["uid"] == "rule:default:on_hook"
    assert rule["pack"] == "default"
    assert rule["enabled"] is False
    assert rule["type"] == {"ref": "standard", "parameters": {}}
    assert rule["context"] == {"user": "alice"}
    assert rule["trigger"]["type"] == "core.st2.webhook"
    assert rule["trigger"]["parameters"] == {"url": "hook1"}
    assert rule["trigger"]["ref"].startswith("core.")
    assert rule["action"] == body["action"]
    assert rule["criteria"] == body["criteria"]


def test_backstop_type_and_tags_are_kept(alice_api):
    rule = created(
        alice_api,
        rule_body(type={"ref": "backstop", "parameters": {}}, tags=[{"name": "a", "value": "b"}]),
    )
    assert rule["type"]["ref"] == "backstop"
    assert rule["tags"] == [{"name": "a", "value": "b"}]


def test_context_user_is_always_the_caller(alice_api):
    rule = created(alice_api, rule_body(context={"user": "admin"}))
    assert rule["context"] == {"user": "alice"}


def test_get_by_ref_by_id_and_by_name_with_a_space(alice_api):
    rule = created(alice_api, rule_body())
    assert alice_api.get(f"/api/v1/rules/{rule['id']}").json() == rule
    assert alice_api.get("/api/v1/rules/demo.on_hook").json() == rule
    spaced = created(alice_api, rule_body(name="my rule", url="hook2"))
    response = alice_api.get("/api/v1/rules/" + quote("demo.my rule"))
    assert response.status_code == 200
    assert response.json()["id"] == spaced["id"]


@pytest.mark.parametrize("ref_or_id", ["1", "demo.nope", "000000000000000000000000"])
def test_unknown_rule_is_404(alice_api, ref_or_id):
    assert alice_api.get(f"/api/v1/rules/{ref_or_id}").status_code == 404
    assert put(alice_api, ref_or_id, rule_body()).status_code == 404
    assert alice_api.delete(f"/api/v1/rules/{ref_or_id}").status_code == 404


def test_duplicate_ref_is_409_with_conflict_id(alice_api, bob_api):
    rule = created(alice_api, rule_body())
    response = post(bob_api, rule_body(url="other"))
    assert response.status_code == 409
    assert response.json()["conflict-id"] == rule["id"]
    assert "demo.on_hook" in response.json()["faultstring"]
    assert Rule.objects.count() == 1
    # the failed create did not keep a trigger for its url
    assert [t.parameters for t in webhook_triggers()] == [{"url": "hook1"}]


def test_renaming_onto_another_rule_is_409(alice_api):
    created(alice_api, rule_body(name="first"))
    second = created(alice_api, rule_body(name="second"))
    response = put(alice_api, second["id"], {**rule_body(name="first")})
    assert response.status_code == 409
    assert response.json()["conflict-id"] != second["id"]
    assert Rule.objects.get(pk=second["id"]).name == "second"


def test_update_replaces_the_rule(alice_api):
    rule = created(alice_api, rule_body(tags=[{"name": "x", "value": "1"}]))
    body = rule_body(description="changed", enabled=True, tags=[])
    body["id"] = "ffffffffffffffffffffffff"  # the id in the URL wins
    del body["pack"]
    response = put(alice_api, rule["id"], body)
    assert response.status_code == 200, response.json()
    updated = response.json()
    assert updated["id"] == rule["id"]
    assert updated["pack"] == "default"  # full replacement: a missing pack is the default
    assert updated["description"] == "changed"
    assert updated["enabled"] is True
    assert updated["tags"] == []
    assert updated["trigger"]["ref"] == rule["trigger"]["ref"]  # same trigger kept


def test_put_without_enabled_disables(alice_api):
    rule = created(alice_api, rule_body(enabled=True))
    assert put(alice_api, rule["id"], rule_body()).json()["enabled"] is False


def test_put_empty_body_is_400(alice_api):
    rule = created(alice_api, rule_body())
    assert "is a required property" in fault(put(alice_api, rule["id"], {}))


def test_delete(alice_api):
    rule = created(alice_api, rule_body())
    assert alice_api.delete(f"/api/v1/rules/{rule['ref']}").status_code == 204
    assert alice_api.get(f"/api/v1/rules/{rule['id']}").status_code == 404


# --- the `st2 rule enable` / `disable` round trip ----------------------------------------------


@pytest.mark.parametrize("start", [False, True])
def test_get_then_put_with_enabled_flipped(alice_api, start):
    rule = created(alice_api, rule_body(enabled=start, description="d", tags=[]))
    shown = alice_api.get("/api/v1/rules/demo.on_hook").json()
    body = {key: value for key, value in shown.items() if key != "ref"}
    body["enabled"] = not start
    response = put(alice_api, shown["id"], body)
    assert response.status_code == 200, response.json()
    expected = {**rule, "enabled": not start}
    assert response.json() == expected
    assert alice_api.get(f"/api/v1/rules/{rule['id']}").json() == expected
    assert Trigger.objects.get(ref=rule["trigger"]["ref"]).ref_count == 1


def test_round_trip_of_a_parameterless_trigger_rule(alice_api):
    body = rule_body(trigger={"type": "core.st2.generic.actiontrigger"})
    rule = created(alice_api, body)
    assert rule["trigger"]["ref"] == "core.st2.generic.actiontrigger"
    shown = {k: v for k, v in alice_api.get(f"/api/v1/rules/{rule['id']}").json().items()}
    shown.pop("ref")
    shown["enabled"] = True
    response = put(alice_api, rule["id"], shown)
    assert response.status_code == 200, response.json()
    assert response.json()["enabled"] is True


def test_round_trip_keeps_a_masked_secret(admin_api):
    """The GET body of a rule with a secret parameter holds ******** instead of the value;
    sending it back must not replace the stored secret with the mask."""
    body = rule_body()
    body["action"]["parameters"]["sudo_password"] = "hunter2"
    rule = created(admin_api, body)
    assert rule["action"]["parameters"]["sudo_password"] == MASK
    shown = admin_api.get(f"/api/v1/rules/{rule['id']}").json()
    shown.pop("ref")
    shown["enabled"] = True
    assert put(admin_api, rule["id"], shown).status_code == 200
    row = Rule.objects.get(pk=rule["id"])
    assert row.action_parameters["sudo_password"] == MASK  # the value is stored encrypted
    assert "hunter2" not in row.secret_action_parameters
    unmasked = admin_api.get(f"/api/v1/rules/{rule['id']}?show_secrets=true").json()
    assert unmasked["action"]["parameters"]["sudo_password"] == "hunter2"


# --- validation ----------------------------------------------------------------------------


def with_trigger(type_ref, parameters=None):
    trigger = {"type": type_ref}
    if parameters is not None:
        trigger["parameters"] = parameters
    return rule_body(trigger=trigger)


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"name": "rule"}, "'trigger' is a required property"),
        (with_trigger("core.st2.nope"), 'trigger.type: trigger type "core.st2.nope"'),
        (with_trigger("core.st2.IntervalTimer", {"unit": "seconds"}), "'delta' is a required"),
        (
            with_trigger("core.st2.IntervalTimer", {"unit": "seconds", "delta": 5, "minutex": 1}),
            "('minutex' was unexpected)",
        ),
        (with_trigger("core.st2.IntervalTimer", {"unit": "eons", "delta": 5}), "unit"),
        (with_trigger("core.st2.DateTimer", {}), "'date' is a required property"),
        (with_trigger("core.st2.CronTimer", {"day_of_week": "abcdef"}), "abcdef"),
        (with_trigger("core.st2.CronTimer", {"day_of_week": 1000}), "1000"),
        (with_trigger("core.st2.webhook", {}), "'url' is a required property"),
        (
            with_trigger("core.st2.generic.actiontrigger", {"x": 1}),
            "trigger.parameters: trigger type",
        ),
        (
            rule_body(criteria={"trigger.x": {"type": "equalz", "pattern": 1}}),
            "For field: trigger.x, operator equalz not in list of allowed operators",
        ),
        (
            rule_body(criteria={"trigger.x": {"type": "exists"}}),
            "For field: trigger.x, no pattern specified for operator",
        ),
        (
            rule_body(action={"ref": "core.nope", "parameters": {}}),
            'action.ref: action "core.nope" does not exist',
        ),
        (
            rule_body(action={"ref": "core.local", "parameters": {"cmd": "x", "bogus": 1}}),
            "action.parameters: Additional properties are not allowed ('bogus' was unexpected)",
        ),
        (
            rule_body(action={"ref": "core.local", "parameters": {"cmd": "x", "timeout": "abc"}}),
            "action.parameters: timeout",
        ),
        (
            rule_body(action={"ref": "core.local", "parameters": {"cmd": "x", "timeout": [1]}}),
            "action.parameters: timeout",
        ),
        (
            rule_body(action={"ref": "core.local", "parameters": {"cmd": 5}}),
            "action.parameters: cmd",
        ),
        (
            rule_body(action={"ref": "core.local", "parameters": {"cmd": "x", "sudo": True}}),
            "immutable",
        ),
        (rule_body(action={"ref": "core.local", "extra": 1}), "'extra' was unexpected"),
        (rule_body(pack="Bad Pack"), "pack"),
    ],
)
def test_invalid_rules_are_400_naming_the_field(alice_api, body, expected):
    assert expected in fault(post(alice_api, body))
    assert Rule.objects.count() == 0
    assert not Trigger.objects.filter(type="core.st2.webhook").exists()


def test_put_validates_too(alice_api):
    rule = created(alice_api, rule_body())
    bad = with_trigger("core.st2.IntervalTimer", {"unit": "seconds", "delta": 5, "minutex": 1})
    assert "('minutex' was unexpected)" in fault(put(alice_api, rule["id"], bad))
    assert Rule.objects.get(pk=rule["id"]).trigger_type == "core.st2.webhook"


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "core.st2.IntervalTimer", "parameters": {"unit": "seconds", "delta": 5}},
        {"type": "core.st2.CronTimer", "parameters": {"day_of_week": "mon", "hour": 3}},
        {"type": "core.st2.DateTimer", "parameters": {"date": "2030-01-01T10:00:00Z"}},
    ],
)
def test_valid_timer_rules(alice_api, trigger):
    rule = created(alice_api, rule_body(trigger=trigger))
    assert rule["trigger"]["parameters"] == trigger["parameters"]


def test_jinja_string_is_accepted_for_an_integer_parameter(alice_api):
    action = {"ref": "core.local", "parameters": {"cmd": "x", "timeout": "{{ trigger.t }}"}}
    rule = created(alice_api, rule_body(action=action))
    assert rule["action"]["parameters"]["timeout"] == "{{ trigger.t }}"


def test_integer_in_a_string_is_accepted_for_an_integer_parameter(alice_api):
    action = {"ref": "core.local", "parameters": {"cmd": "x", "timeout": "30"}}
    assert post(alice_api, rule_body(action=action)).status_code == 201


# --- listing -------------------------------------------------------------------------------


@pytest.fixture
def three_rules(alice_api):
    created(alice_api, rule_body(name="a", url="u1", enabled=True))
    created(alice_api, rule_body(name="b", url="u2", pack="core"))
    timer = {"type": "core.st2.IntervalTimer", "parameters": {"unit": "minutes", "delta": 1}}
    noop = {"ref": "core.noop", "parameters": {}}
    created(alice_api, rule_body(name="c", trigger=timer, action=noop, enabled=True))


def refs(response):
    assert response.status_code == 200, response.json()
    return [rule["ref"] for rule in response.json()]


def test_list_everything_sorted_by_pack_and_name(alice_api, three_rules):
    response = alice_api.get("/api/v1/rules")
    assert refs(response) == ["core.b", "demo.a", "demo.c"]
    assert response["X-Total-Count"] == "3"
    assert "X-Limit" not in response
    assert refs(alice_api.get("/api/v1/rules/")) == ["core.b", "demo.a", "demo.c"]


def test_list_filters(alice_api, three_rules):
    assert refs(alice_api.get("/api/v1/rules?pack=demo")) == ["demo.a", "demo.c"]
    assert refs(alice_api.get("/api/v1/rules?enabled=True")) == ["demo.a", "demo.c"]
    assert refs(alice_api.get("/api/v1/rules?enabled=False")) == ["core.b"]
    assert refs(alice_api.get("/api/v1/rules?action=core.noop")) == ["demo.c"]
    assert refs(alice_api.get("/api/v1/rules?name=b")) == ["core.b"]
    a = alice_api.get("/api/v1/rules/demo.a").json()
    assert refs(alice_api.get(f"/api/v1/rules?trigger={a['trigger']['ref']}")) == ["demo.a"]
    assert refs(alice_api.get("/api/v1/rules?pack=nope")) == []
    assert refs(alice_api.get("/api/v1/rules?unknown=1")) == ["core.b", "demo.a", "demo.c"]


def test_list_with_include_attributes_as_the_cli_asks(alice_api, three_rules):
    response = alice_api.get(
        "/api/v1/rules/?include_attributes=ref,pack,description,enabled&limit=50"
    )
    assert response.status_code == 200
    assert set(response.json()[0]) == {"id", "ref", "pack", "description", "enabled"}
    iftt = alice_api.get("/api/v1/rules/?include_attributes=ref,trigger.ref,action.ref,enabled")
    assert set(iftt.json()[0]) == {"id", "ref", "trigger", "action", "enabled"}


def test_list_limits(alice_api, admin_api, three_rules):
    response = alice_api.get("/api/v1/rules?limit=2&offset=1")
    assert refs(response) == ["demo.a", "demo.c"]
    assert response["X-Total-Count"] == "3"
    assert response["X-Limit"] == "2"
    assert "must be a positive number." in fault(alice_api.get("/api/v1/rules?limit=-22"))
    assert "positive number or -1" in fault(alice_api.get("/api/v1/rules?limit=0"))
    assert "Administrator access required" in fault(alice_api.get("/api/v1/rules?limit=-1"), 403)
    assert fault(alice_api.get("/api/v1/rules?limit=1000"), 403).startswith('Limit "1000"')
    assert len(admin_api.get("/api/v1/rules?limit=-1").json()) == 3
    assert len(admin_api.get("/api/v1/rules?limit=1000").json()) == 3


# --- secrets -------------------------------------------------------------------------------


@pytest.fixture
def secret_rule(alice_api):
    body = rule_body()
    body["action"] = {
        "ref": "demo.deploy",
        "parameters": {"environment": "staging", "version": "{{ trigger.body.name }}"},
    }
    body["action"]["parameters"]["api_token"] = "hunter2"
    return created(alice_api, body)


def test_secret_action_parameters_are_masked(alice_api, admin_api, secret_rule):
    assert secret_rule["action"]["parameters"]["api_token"] == MASK
    assert secret_rule["action"]["parameters"]["version"] == "{{ trigger.body.name }}"
    for api in (alice_api, admin_api):
        listed = api.get("/api/v1/rules").json()[0]
        assert listed["action"]["parameters"]["api_token"] == MASK
        one = api.get(f"/api/v1/rules/{secret_rule['id']}").json()
        assert one["action"]["parameters"]["api_token"] == MASK
    mine = alice_api.get(f"/api/v1/rules/{secret_rule['id']}?show_secrets=true").json()
    assert mine["action"]["parameters"]["api_token"] == MASK  # only admins may unmask


def test_admin_show_secrets_unmasks(admin_api, secret_rule):
    one = admin_api.get(f"/api/v1/rules/{secret_rule['id']}?show_secrets=true").json()
    assert one["action"]["parameters"]["api_token"] == "hunter2"
    listed = admin_api.get("/api/v1/rules?show_secrets=true").json()[0]
    assert listed["action"]["parameters"]["api_token"] == "hunter2"


def test_exclude_action(alice_api, secret_rule):
    listed = alice_api.get("/api/v1/rules?exclude_attributes=action").json()
    assert "action" not in listed[0]


# --- ownership -----------------------------------------------------------------------------


def test_only_the_owner_or_an_admin_may_change_a_rule(alice_api, bob_api, admin_api):
    rule = created(alice_api, rule_body())
    assert "may not change" in fault(put(bob_api, rule["id"], rule_body(enabled=True)), 403)
    assert fault(bob_api.delete(f"/api/v1/rules/{rule['id']}"), 403)
    assert Rule.objects.get(pk=rule["id"]).enabled is False
    # bob is refused even when his body is invalid
    assert put(bob_api, rule["id"], {}).status_code == 403
    assert bob_api.get(f"/api/v1/rules/{rule['id']}").status_code == 200  # reading is fine
    response = put(admin_api, rule["id"], rule_body(enabled=True))
    assert response.status_code == 200
    assert response.json()["context"] == {"user": "alice"}  # still alice's rule
    assert put(alice_api, rule["id"], rule_body()).status_code == 200
    assert admin_api.delete(f"/api/v1/rules/{rule['id']}").status_code == 204


# --- triggers behind rules -----------------------------------------------------------------


def test_rules_with_the_same_trigger_parameters_share_one_trigger(alice_api, admin_api):
    # (A member may not share a webhook url with another user's rule; staff may.)
    first = created(alice_api, rule_body(name="first", url="shared"))
    second = created(admin_api, rule_body(name="second", url="shared"))
    other = created(alice_api, rule_body(name="other", url="elsewhere"))
    assert first["trigger"]["ref"] == second["trigger"]["ref"] != other["trigger"]["ref"]
    trigger = Trigger.objects.get(ref=first["trigger"]["ref"])
    assert trigger.ref_count == 2
    assert trigger.pack == "core"
    assert trigger.ref == f"core.{trigger.name}" and len(trigger.name) == 36  # a uuid4

    assert alice_api.delete(f"/api/v1/rules/{first['id']}").status_code == 204
    assert Trigger.objects.get(ref=trigger.ref).ref_count == 1
    assert admin_api.delete(f"/api/v1/rules/{second['id']}").status_code == 204
    assert not Trigger.objects.filter(ref=trigger.ref).exists()
    assert Trigger.objects.filter(ref=other["trigger"]["ref"]).exists()


def test_changing_trigger_parameters_releases_the_old_trigger(alice_api):
    rule = created(alice_api, rule_body(url="old"))
    keeper = created(alice_api, rule_body(name="keeper", url="kept"))
    updated = put(alice_api, rule["id"], rule_body(url="new")).json()
    assert updated["trigger"]["ref"] != rule["trigger"]["ref"]
    assert not Trigger.objects.filter(ref=rule["trigger"]["ref"]).exists()
    assert Trigger.objects.get(ref=updated["trigger"]["ref"]).parameters == {"url": "new"}
    # moving onto a trigger another rule uses shares it
    moved = put(alice_api, rule["id"], rule_body(url="kept")).json()
    assert moved["trigger"]["ref"] == keeper["trigger"]["ref"]
    assert Trigger.objects.get(ref=keeper["trigger"]["ref"]).ref_count == 2
    assert not Trigger.objects.filter(ref=updated["trigger"]["ref"]).exists()


def test_parameterless_trigger_is_the_shadow_trigger_and_is_never_deleted(alice_api):
    body = rule_body(trigger={"type": "core.st2.generic.actiontrigger", "parameters": {}})
    rule = created(alice_api, body)
    assert rule["trigger"]["ref"] == "core.st2.generic.actiontrigger"
    assert Trigger.objects.get(ref="core.st2.generic.actiontrigger").ref_count == 1
    alice_api.delete(f"/api/v1/rules/{rule['id']}")
    assert Trigger.objects.get(ref="core.st2.generic.actiontrigger").ref_count == 0


def test_failed_update_keeps_the_old_trigger(alice_api):
    rule = created(alice_api, rule_body(url="old"))
    created(alice_api, rule_body(name="taken", url="x"))
    response = put(alice_api, rule["id"], rule_body(name="taken", url="new"))
    assert response.status_code == 409
    assert Trigger.objects.get(ref=rule["trigger"]["ref"]).ref_count == 1
    assert sorted(t.parameters["url"] for t in webhook_triggers()) == ["old", "x"]


def test_parameterless_timer_trigger_released_with_its_last_rule(admin_api):
    body = {
        "name": "every_minute",
        "pack": "default",
        "trigger": {"type": "core.st2.CronTimer", "parameters": {}},
        "action": {"ref": "core.noop"},
    }
    created = admin_api.post("/api/v1/rules", body, format="json").json()
    ref = created["trigger"]["ref"]
    assert Trigger.objects.filter(ref=ref).exists()
    assert admin_api.delete(f"/api/v1/rules/{created['id']}").status_code == 204
    assert not Trigger.objects.filter(ref=ref).exists()
