"""Registering again: unchanged packs are skipped by their content hash, a changed file (or
changed runner types) registers its pack again; the problems found are kept with pack, file
and reason and listed by `manage.py register_packs`; rules naming what is not registered are
warned about; sensor types and trigger types come from sensors/ and triggers/."""

import io
import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from st2bridge.models import Action, PackProblem, Rule, SensorType, Trigger, TriggerType
from st2bridge.packs import register_packs

from .pack_support import NOOP_ACTION, write_pack

pytestmark = pytest.mark.django_db
RUNNERS = [settings.ST2_RUNNER_TYPES_FILE]


def register(packs_dir, **options):
    return register_packs([packs_dir], RUNNERS, **options)


def noop(name, description="d"):
    return {f"{name}.yaml": NOOP_ACTION.format(name=name, description=description)}


def problems():
    return list(PackProblem.objects.values_list("pack", "file", "reason", "level"))


# --- content hash ---------------------------------------------------------------------------


def test_unchanged_packs_are_skipped_and_a_changed_file_registers_its_pack(tmp_path):
    alpha = write_pack(tmp_path, "alpha", noop("one", "first"))
    write_pack(tmp_path, "beta", noop("two"))
    assert (register(tmp_path).packs, Action.objects.count()) == (2, 2)
    # Edited in the database behind the loader's back: a skipped pack does not see it.
    Action.objects.update(description="edited")

    unchanged = register(tmp_path)

    assert (unchanged.packs, unchanged.unchanged, unchanged.actions) == (0, 2, 0)
    assert set(Action.objects.values_list("description", flat=True)) == {"edited"}

    (alpha / "actions" / "one.yaml").write_text(NOOP_ACTION.format(name="one", description="new"))
    changed = register(tmp_path)

    assert (changed.packs, changed.unchanged, changed.actions) == (1, 1, 1)
    assert dict(Action.objects.values_list("ref", "description")) == {
        "alpha.one": "new",
        "beta.two": "edited",
    }


def test_a_new_file_or_a_removed_one_is_a_change(tmp_path):
    pack_dir = write_pack(tmp_path, "p", noop("one"))
    register(tmp_path)
    (pack_dir / "actions" / "two.yaml").write_text(NOOP_ACTION.format(name="two", description="d"))

    assert register(tmp_path).packs == 1
    assert Action.objects.count() == 2

    (pack_dir / "actions" / "one.yaml").unlink()
    assert register(tmp_path).packs == 1
    assert list(Action.objects.values_list("ref", flat=True)) == ["p.two"]


def test_force_registers_unchanged_packs(tmp_path):
    write_pack(tmp_path, "p", noop("one"))
    register(tmp_path)
    Action.objects.update(description="edited")

    report = register(tmp_path, force=True)

    assert (report.packs, report.unchanged) == (1, 0)
    assert Action.objects.get().description == "d"


def test_changed_runner_types_register_every_pack_again(tmp_path):
    write_pack(tmp_path, "p", {"echo.yaml": "name: echo\nrunner_type: local-shell-cmd\n"})
    register(tmp_path)
    runners = yaml.safe_load(Path(settings.ST2_RUNNER_TYPES_FILE).read_text())
    for runner in runners:
        if runner["name"] == "local-shell-cmd":
            runner["runner_parameters"]["cmd"]["description"] = "Changed."
    changed_file = tmp_path / "runners.yaml"
    changed_file.write_text(yaml.safe_dump(runners))

    report = register_packs([tmp_path], [changed_file])

    assert (report.packs, report.unchanged) == (1, 0)


def test_command_skips_unchanged_packs_unless_forced(tmp_path):
    write_pack(tmp_path, "p", noop("one"))

    def run(*args):
        out = io.StringIO()
        call_command("register_packs", "--packs-dir", str(tmp_path), *args, stdout=out)
        return out.getvalue()

    assert "1 packs, 1 actions, 0 rules, 0 sensors; 0 packs unchanged" in run()
    assert "0 packs, 0 actions, 0 rules, 0 sensors; 1 packs unchanged" in run()
    assert "1 packs, 1 actions, 0 rules, 0 sensors; 0 packs unchanged" in run("--force")


# --- problems -------------------------------------------------------------------------------


def test_problems_are_kept_with_pack_file_and_reason_while_the_pack_is_unchanged(tmp_path):
    pack_dir = write_pack(tmp_path, "p", {**noop("good"), "bad.yaml": "name: bad\n"})
    expected = [("p", "actions/bad.yaml", "'runner_type' is a required property", "error")]

    first = register(tmp_path)

    assert problems() == expected
    assert first.errors == [
        f"{pack_dir.resolve()}/actions/bad.yaml: 'runner_type' is a required property"
    ]
    [row] = PackProblem.objects.all()
    assert row.directory == str(pack_dir.resolve())

    again = register(tmp_path)  # skipped: its problems still hold, and are still reported

    assert (again.unchanged, again.errors, problems()) == (1, first.errors, expected)

    (pack_dir / "actions" / "bad.yaml").write_text("name: bad\nrunner_type: noop\n")
    fixed = register(tmp_path)

    assert (fixed.packs, fixed.errors, problems()) == (1, [], [])


def test_a_pack_that_cannot_register_keeps_its_problem_under_its_directory(tmp_path):
    broken = write_pack(tmp_path, "broken", pack_yaml="name: [\n")
    missing = tmp_path / "nowhere"

    report = register_packs([tmp_path, missing], RUNNERS)

    assert report.errors == [
        f"{broken.resolve()}/pack.yaml: line 2, column 1: expected the node content, but found "
        "'<stream end>'",
        f"{missing}: packs directory not found",
    ]
    assert set(PackProblem.objects.values_list("pack", "directory", "file")) == {
        ("", str(broken.resolve()), "pack.yaml"),
        ("", str(missing), ""),
    }


def test_a_registered_pack_whose_pack_yaml_breaks_shows_the_problem_under_its_ref(tmp_path):
    pack_dir = write_pack(tmp_path, "p", noop("one"))
    register(tmp_path)
    (pack_dir / "pack.yaml").write_text("name: p\n")

    register(tmp_path)

    assert problems() == [("p", "pack.yaml", "'description' is a required property", "error")]
    assert Action.objects.filter(ref="p.one").exists()  # what was registered stays


def test_command_lists_errors_and_warnings_with_file_and_reason(tmp_path):
    pack_dir = write_pack(
        tmp_path,
        "p",
        {"bad.yaml": "name: bad\n"},
        rules={"r.yaml": "name: r\ntrigger: {type: nowhere.event}\naction: {ref: p.gone}\n"},
    )
    out, err = io.StringIO(), io.StringIO()

    call_command("register_packs", "--packs-dir", str(tmp_path), stdout=out, stderr=err)

    root = pack_dir.resolve()
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        "1 error(s):",
        f"  {root}/actions/bad.yaml: 'runner_type' is a required property",
        "2 warning(s):",
        f'  {root}/rules/r.yaml: rule p.r: trigger type "nowhere.event" is not registered: the '
        "rule cannot fire until a pack (or the API) registers it.",
        f'  {root}/rules/r.yaml: rule p.r: action "p.gone" is not registered: when the rule '
        "fires, its enforcement fails.",
    ]
    assert err.getvalue() == ""


# --- rules naming what is not registered ------------------------------------------------------

MISSING_BOTH = """\
    name: lost
    enabled: true
    trigger:
      type: nowhere.event
    action:
      ref: later.act
"""


def test_rules_naming_a_missing_trigger_type_or_action_register_with_warnings(tmp_path):
    write_pack(tmp_path, "p", rules={"lost.yaml": MISSING_BOTH})

    report = register(tmp_path)

    assert report.errors == []
    assert Rule.objects.get(ref="p.lost").enabled is True
    assert [(pack, file, level) for pack, file, _, level in problems()] == [
        ("p", "rules/lost.yaml", "warning"),
        ("p", "rules/lost.yaml", "warning"),
    ]
    assert {reason for _, _, reason, _ in problems()} == {
        'rule p.lost: trigger type "nowhere.event" is not registered: the rule cannot fire '
        "until a pack (or the API) registers it.",
        'rule p.lost: action "later.act" is not registered: when the rule fires, its '
        "enforcement fails.",
    }

    # The pack bringing the action arrives: the rule's pack is unchanged, the warning goes.
    write_pack(tmp_path, "later", noop("act"))
    report = register(tmp_path)

    assert (report.packs, report.unchanged) == (1, 1)
    assert [reason for _, _, reason, _ in problems()] == [
        'rule p.lost: trigger type "nowhere.event" is not registered: the rule cannot fire '
        "until a pack (or the API) registers it."
    ]


def test_a_rule_registered_before_its_trigger_type_is_bound_to_it_when_it_arrives(tmp_path):
    rule = """\
        name: on_tick
        enabled: true
        trigger:
          type: zsource.tick
          parameters: {every: 5}
        action:
          ref: arules.act
    """
    write_pack(tmp_path, "arules", noop("act"), rules={"on_tick.yaml": rule})
    assert register(tmp_path).warnings  # the trigger type is not there yet
    assert Rule.objects.get(ref="arules.on_tick").trigger_ref == "zsource.tick"
    trigger_type = (
        "name: tick\nparameters_schema:\n  type: object\n  properties: {every: {type: integer}}\n"
    )
    write_pack(tmp_path, "zsource", triggers={"tick.yaml": trigger_type})

    report = register(tmp_path)

    assert report.warnings == []
    bound = Rule.objects.get(ref="arules.on_tick")
    trigger = Trigger.objects.get(ref=bound.trigger_ref)
    assert (trigger.type, trigger.parameters, trigger.ref_count) == (
        "zsource.tick",
        {"every": 5},
        1,
    )


# --- sensors and trigger types ------------------------------------------------------------------

SENSOR = """\
    class_name: RepoWatcher
    entry_point: repo_watcher.py
    description: Watches a repository.
    poll_interval: 30
    enabled: false
    trigger_types:
      - name: pushed
        payload_schema: {type: object}
"""


def test_sensor_types_and_their_trigger_types_are_registered(tmp_path):
    pack_dir = write_pack(tmp_path, "git", sensors={"watcher.yaml": SENSOR})

    report = register(tmp_path)

    assert (report.errors, report.sensors) == ([], 1)
    sensor = SensorType.objects.get(ref="git.RepoWatcher")
    assert (sensor.pack, sensor.name, sensor.description) == (
        "git",
        "RepoWatcher",
        "Watches a repository.",
    )
    assert sensor.entry_point == "sensors.repo_watcher.RepoWatcher"  # StackStorm's module path
    assert sensor.artifact_uri == f"file://{pack_dir.resolve()}/sensors/repo_watcher.py"
    assert (sensor.enabled, sensor.poll_interval) == (False, 30)
    assert (sensor.trigger_types, sensor.metadata_file) == (["git.pushed"], "sensors/watcher.yaml")
    assert TriggerType.objects.get(ref="git.pushed").payload_schema == {"type": "object"}
    assert Trigger.objects.filter(ref="git.pushed").exists()  # its shadow trigger

    (pack_dir / "sensors" / "watcher.yaml").unlink()
    register(tmp_path)
    assert not SensorType.objects.exists()


def test_a_sensor_file_that_breaks_keeps_its_sensor_type(tmp_path):
    pack_dir = write_pack(tmp_path, "git", sensors={"watcher.yaml": SENSOR})
    register(tmp_path)
    (pack_dir / "sensors" / "watcher.yaml").write_text("class_name: RepoWatcher\n")

    report = register(tmp_path)

    assert report.errors == [
        f"{pack_dir.resolve()}/sensors/watcher.yaml: Sensor definition missing entry_point"
    ]
    assert SensorType.objects.filter(ref="git.RepoWatcher").exists()


def test_reference_examples_pack_brings_its_triggers_and_sensors(tmp_path):
    reference = Path(settings.BASE_DIR).parent / "shared" / "reference" / "packs" / "examples"
    if not reference.is_dir():
        pytest.fail(f"StackStorm's examples pack not found at {reference}")
    shutil.copytree(reference, tmp_path / "examples", symlinks=True)

    report = register(tmp_path)

    assert report.errors == []
    assert TriggerType.objects.filter(ref="examples.sample_trigger").exists()  # triggers/
    assert set(SensorType.objects.values_list("ref", flat=True)) == {
        "examples.EchoFlaskSensor",
        "examples.FibonacciSensor",
        "examples.SamplePollingSensor",
        "examples.SampleSensor",
    }
