"""The pack loader is as tolerant and as strict as StackStorm's registrars (st2common's API
models, validated with allow_default_none): optional fields set to null are accepted and take
their defaults, and what StackStorm refuses is refused with StackStorm's message, naming the
file."""

import pytest
from django.conf import settings

from st2bridge.models import Action, Pack, Rule, SensorType, TriggerType
from st2bridge.packs import register_packs

from .pack_support import pack_yaml, write_pack

pytestmark = pytest.mark.django_db


def register(packs_dir):
    return register_packs([packs_dir], [settings.ST2_RUNNER_TYPES_FILE])


# --- null optional fields ---------------------------------------------------------------------

NULL_ACTION = """\
    name: quiet
    runner_type: local-shell-cmd
    description:
    enabled:
    entry_point:
    tags:
    parameters:
      cmd:
        default: "true"
    notify:
      on-complete:
        message:
        routes:
"""


def test_null_optional_action_fields_take_their_defaults(tmp_path):
    write_pack(tmp_path, "p", {"quiet.yaml": NULL_ACTION})

    report = register(tmp_path)

    assert report.errors == []
    action = Action.objects.get(ref="p.quiet")
    assert (action.description, action.enabled, action.entry_point) == ("", True, "")
    assert (action.tags, action.notify) == ([], {"on-complete": {}})
    assert action.parameters == {"cmd": {"default": "true"}}


def test_an_empty_parameters_mapping_is_no_parameters(tmp_path):
    write_pack(tmp_path, "p", {"a.yaml": "name: a\nrunner_type: noop\nparameters:\n"})

    assert register(tmp_path).errors == []
    assert Action.objects.get(ref="p.a").parameters == {}


def test_null_optional_pack_fields_are_accepted(tmp_path, admin_api):
    text = pack_yaml(name="p") + "email:\nkeywords:\ncontributors:\nstackstorm_version:\n"
    write_pack(tmp_path, "p", pack_yaml=text)

    assert register(tmp_path).errors == []
    assert Pack.objects.get(ref="p").metadata == {
        "name": "p",
        "description": "Test pack.",
        "version": "1.0.0",
        "author": "tests",
    }
    pack = admin_api.get("/api/v1/packs/p").json()
    assert pack["keywords"] == [] and pack["contributors"] == [] and "email" not in pack


def test_null_fields_of_rules_sensors_and_trigger_types_are_accepted(tmp_path):
    write_pack(
        tmp_path,
        "p",
        {"a.yaml": "name: a\nrunner_type: noop\n"},
        rules={
            "r.yaml": """\
                name: r
                description:
                enabled:
                criteria:
                tags:
                trigger:
                  type: core.st2.webhook
                  parameters:
                    url: p-hook
                action:
                  ref: p.a
                  parameters:
            """
        },
        sensors={
            "s.yaml": """\
                class_name: Watcher
                entry_point: watcher.py
                description:
                poll_interval:
                enabled:
                trigger_types:
                  - name: seen
                    description:
                    payload_schema:
            """
        },
        triggers={"t.yaml": "name: ticked\ndescription:\nparameters_schema:\n"},
    )

    report = register(tmp_path)

    assert report.errors == []
    rule = Rule.objects.get(ref="p.r")
    assert (rule.description, rule.criteria, rule.action_parameters) == ("", {}, {})
    assert rule.enabled is False  # StackStorm's RuleAPI: off unless the file says otherwise
    sensor = SensorType.objects.get(ref="p.Watcher")
    assert (sensor.description, sensor.poll_interval, sensor.enabled) == ("", None, True)
    assert set(TriggerType.objects.filter(pack="p").values_list("ref", "description")) == {
        ("p.seen", ""),
        ("p.ticked", ""),
    }


# --- refusals, with StackStorm's messages ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (pack_yaml(name="p", description=None), "'description' is a required property"),
        (pack_yaml(name="p", author=None), "'author' is a required property"),
        (pack_yaml(name="p") + "description:\n", "description: None is not of type 'string'"),
        (
            pack_yaml(name="p", version="1.0"),
            'Pack version "1.0" doesn\'t follow a valid semver format. Valid versions and '
            "formats include: 0.1.0, 0.2.1, 1.1.0, etc.",
        ),
        (  # a number in YAML is taken as its text, and refused the same
            "name: p\ndescription: d\nauthor: a\nversion: 1.0\n",
            'Pack version "1.0" doesn\'t follow a valid semver format. Valid versions and '
            "formats include: 0.1.0, 0.2.1, 1.1.0, etc.",
        ),
        (
            pack_yaml(name="p", ref="Bad-Ref"),
            "Pack ref / name can only contain valid word characters (a-z, 0-9 and _), dashes "
            "are not allowed.",
        ),
        (
            pack_yaml(name="p", python_versions=["4"]),
            "python_versions.0: '4' is not one of ['2', '3']",
        ),
        (pack_yaml(name="p", ref="_global"), 'Pack ref "_global" is reserved and cannot be used.'),
    ],
)
def test_pack_yaml_refusals(tmp_path, text, reason):
    pack_dir = write_pack(tmp_path, "p", {"a.yaml": "name: a\nrunner_type: noop\n"}, text)

    report = register(tmp_path)

    assert report.errors == [f"{pack_dir.resolve() / 'pack.yaml'}: {reason}"]
    assert not Pack.objects.exists() and not Action.objects.exists()


def test_empty_or_missing_pack_yaml(tmp_path):
    empty = write_pack(tmp_path, "empty", pack_yaml="\n")
    (empty / "pack.yaml").write_text("")
    missing = write_pack(tmp_path, "missing")
    (missing / "pack.yaml").unlink()
    (tmp_path / "single").mkdir()

    assert register(tmp_path).errors == [
        f'{empty.resolve() / "pack.yaml"}: Pack "{empty}" metadata file is empty',
        f'{missing.resolve()}: Pack "missing" is missing pack.yaml file',
        f'{(tmp_path / "single").resolve()}: Pack "single" is missing pack.yaml file',
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name:\nrunner_type: noop\n", "name: None is not of type 'string'"),
        ("name: x\n", "'runner_type' is a required property"),
        (
            "name: x\nrunner_type: noop\nparameters:\n  bad-name:\n    type: string\n",
            'Parameter name "bad-name" is invalid. Valid characters for parameter name are '
            "[a-zA-Z0-0_].",
        ),
        (
            "name: x\nrunner_type: run-local\n",
            "RunnerType run-local is not found. If you are using old and deprecated runner name, "
            "you need to switch to a new one. For more information, please see "
            "https://docs.stackstorm.com/upgrade_notes.html#st2-v0-9",
        ),
        (
            "name: x\npack: other\nrunner_type: noop\n",
            'Model is in pack "p" but field "pack" is different: other',
        ),
        (
            "name: x\nrunner_type: noop\nenabled: maybe\n",
            "enabled: 'maybe' is not of type 'boolean'",
        ),
    ],
)
def test_action_refusals(tmp_path, text, reason):
    pack_dir = write_pack(tmp_path, "p", {"x.yaml": text})

    report = register(tmp_path)

    assert report.errors == [f"{pack_dir.resolve() / 'actions' / 'x.yaml'}: {reason}"]
    assert not Action.objects.exists()
    assert Pack.objects.filter(ref="p").exists()  # the rest of the pack registers


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("class_name: S\n", "Sensor definition missing entry_point"),
        ("entry_point: s.py\n", "'class_name' is a required property"),
        (
            "class_name: S\nentry_point: s.py\npoll_interval: 2\n",
            "Minimum possible poll_interval is 4 seconds",
        ),
        (
            "class_name: S\nentry_point: s.py\npack: other\n",
            'Model is in pack "p" but field "pack" is different: other',
        ),
        (
            "class_name: S\nentry_point: s.py\ntrigger_types:\n  - description: no name\n",
            "trigger_types.0: 'name' is a required property",
        ),
        (
            "class_name: S\nentry_point: ../../outside.py\n",
            "entry_point '../../outside.py' refused: it must be a relative path inside the "
            "pack's sensors directory, without '..'",
        ),
    ],
)
def test_sensor_refusals(tmp_path, text, reason):
    pack_dir = write_pack(tmp_path, "p", sensors={"s.yaml": text})

    report = register(tmp_path)

    assert report.errors == [f"{pack_dir.resolve() / 'sensors' / 's.yaml'}: {reason}"]
    assert not SensorType.objects.exists()


def test_sensor_trigger_types_keep_only_the_keys_stackstorm_takes(tmp_path):
    sensor = """\
        class_name: Inbox
        entry_point: inbox.py
        trigger_types:
          - name: mail
            payload_info: [from, subject]
            payload_schema: {type: object}
    """
    write_pack(tmp_path, "p", sensors={"inbox.yaml": sensor})

    assert register(tmp_path).errors == []
    mail = TriggerType.objects.get(ref="p.mail")
    assert (mail.payload_schema, mail.metadata_file) == ({"type": "object"}, "sensors/inbox.yaml")


def test_rule_and_trigger_files_of_another_pack_are_refused(tmp_path):
    rule = "name: r\npack: other\ntrigger: {type: core.st2.webhook}\naction: {ref: core.noop}\n"
    pack_dir = write_pack(
        tmp_path, "p", rules={"r.yaml": rule}, triggers={"t.yaml": "name: t\nsurprise: 1\n"}
    )

    report = register(tmp_path)

    root = pack_dir.resolve()
    assert report.errors == [
        f'{root / "rules" / "r.yaml"}: Model is in pack "p" but field "pack" is different: other',
        f"{root / 'triggers' / 't.yaml'}: Additional properties are not allowed "
        "('surprise' was unexpected)",
    ]


def test_json_metadata_files_are_read_and_actions_config_is_not(tmp_path):
    write_pack(
        tmp_path,
        "p",
        {
            "a.json": '{"name": "a", "runner_type": "noop"}',
            "config.yaml": "not: an action\n",
        },
    )

    assert register(tmp_path).errors == []
    assert list(Action.objects.values_list("ref", flat=True)) == ["p.a"]
