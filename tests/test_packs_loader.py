"""The pack loader (st2bridge.packs) and `manage.py register_packs`: what ends up in the
database after registering our packs, StackStorm's reference packs and broken ones."""

import io
import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from st2bridge.models import Action, Pack, Rule, RunnerType, SensorType
from st2bridge.packs import register_pack, register_packs
from st2bridge.triggers import BUILTIN_TRIGGER_TYPES_FILE

from .pack_support import NOOP_ACTION, pack_yaml, write_pack

# StackStorm's internal trigger types and the server's own events (st2bridge.server_events).
BUILTIN_TRIGGER_TYPES = len(yaml.safe_load(BUILTIN_TRIGGER_TYPES_FILE.read_text()))

BUNDLED_PACKS = Path(settings.BASE_DIR) / "packs"
REFERENCE = Path(settings.BASE_DIR).parent / "shared" / "reference"
EXECUTED_RUNNERS = {
    "noop",
    "local-shell-cmd",
    "local-shell-script",
    "http-request",
    "python-script",
}


@pytest.fixture
def reference():
    """StackStorm's own packs and runner files; their absence is a failure, not a skip."""
    if not (REFERENCE / "packs").is_dir() or not (REFERENCE / "runners").is_dir():
        pytest.fail(f"StackStorm reference packs/ and runners/ not found under {REFERENCE}")
    return REFERENCE


@pytest.fixture
def our_runners(db):
    register_packs([], runner_type_files=[settings.ST2_RUNNER_TYPES_FILE])


def register_bundled():
    return register_packs(settings.ST2_PACKS_DIRS, [settings.ST2_RUNNER_TYPES_FILE])


def action_files(packs_dir):
    return sorted(packs_dir.glob("*/actions/*.yaml")) + sorted(packs_dir.glob("*/actions/*.yml"))


# --- our runner types and bundled packs ----------------------------------------------------


def test_bundled_packs_register_without_errors(db):
    report = register_bundled()

    assert report.errors == []
    assert EXECUTED_RUNNERS <= set(RunnerType.objects.values_list("name", flat=True))
    assert set(Pack.objects.values_list("ref", flat=True)) == {"core", "default", "demo"}
    assert report.actions == Action.objects.count() == len(action_files(BUNDLED_PACKS))


@pytest.mark.parametrize(
    ("ref", "runner_type"),
    [
        ("core.local", "local-shell-cmd"),
        ("core.local_sudo", "local-shell-cmd"),
        ("core.echo", "local-shell-cmd"),
        ("core.http", "http-request"),
        ("core.noop", "noop"),
        ("demo.deploy", "local-shell-script"),
        ("demo.greet", "python-script"),
    ],
)
def test_bundled_action_has_its_runner_and_parameters(db, ref, runner_type):
    register_bundled()
    pack, name = ref.split(".")
    [path] = [
        p for p in action_files(BUNDLED_PACKS) if yaml.safe_load(p.read_text())["name"] == name
    ]
    declared = yaml.safe_load(path.read_text())

    action = Action.objects.get(ref=ref)

    assert (action.pack, action.name, action.runner_type) == (pack, name, runner_type)
    assert action.parameters == (declared.get("parameters") or {})
    assert action.entry_point == (declared.get("entry_point") or "")
    assert action.metadata_file == f"actions/{path.name}"


def test_every_bundled_action_matches_its_file(db):
    register_bundled()
    for path in action_files(BUNDLED_PACKS):
        declared = yaml.safe_load(path.read_text())
        action = Action.objects.get(ref=f"{path.parent.parent.name}.{declared['name']}")
        assert action.runner_type == declared["runner_type"], path
        assert action.parameters == (declared.get("parameters") or {}), path
        assert action.description == declared.get("description", ""), path


def test_pack_keeps_its_pack_yaml_path_and_files(db):
    register_bundled()

    pack = Pack.objects.get(ref="demo")

    assert pack.metadata == yaml.safe_load((BUNDLED_PACKS / "demo" / "pack.yaml").read_text())
    assert pack.name == "demo"
    assert Path(pack.path) == (BUNDLED_PACKS / "demo").resolve()
    assert pack.files == sorted(pack.files)
    assert {"pack.yaml", "actions/greet.yaml", "actions/greet.py"} <= set(pack.files)


def test_pack_files_skip_git_and_pycache(db, tmp_path, our_runners):
    pack_dir = write_pack(
        tmp_path, "tidy", {"a.yaml": NOOP_ACTION.format(name="a", description="d")}
    )
    for junk in (".git/config", "actions/__pycache__/a.cpython-311.pyc", "actions/b.pyc"):
        (pack_dir / junk).parent.mkdir(parents=True, exist_ok=True)
        (pack_dir / junk).write_text("x")

    register_pack(pack_dir)

    assert Pack.objects.get(ref="tidy").files == ["actions/a.yaml", "pack.yaml"]


# --- registering again ---------------------------------------------------------------------


def test_registering_twice_updates_in_place(db, tmp_path):
    packs_dir = tmp_path / "packs"
    shutil.copytree(BUNDLED_PACKS / "demo", packs_dir / "demo")
    runners = [settings.ST2_RUNNER_TYPES_FILE]
    register_packs([packs_dir], runners)
    ids = dict(Action.objects.values_list("ref", "id"))
    greet = packs_dir / "demo" / "actions" / "greet.yaml"
    meta = yaml.safe_load(greet.read_text())
    greet.write_text(yaml.safe_dump({**meta, "description": "Says hello, changed."}))

    report = register_packs([packs_dir], runners)

    assert report.errors == []
    assert dict(Action.objects.values_list("ref", "id")) == ids
    assert Action.objects.get(ref="demo.greet").description == "Says hello, changed."
    assert Pack.objects.filter(ref="demo").count() == 1
    assert RunnerType.objects.count() == report.runner_types


def test_reregistering_keeps_a_runner_disabled_by_an_admin(db):
    register_bundled()
    RunnerType.objects.filter(name="noop").update(enabled=False)

    register_bundled()

    assert RunnerType.objects.get(name="noop").enabled is False


def test_action_removed_from_disk_is_deleted(db, tmp_path, our_runners):
    files = {f"{n}.yaml": NOOP_ACTION.format(name=n, description="d") for n in ("one", "two")}
    pack_dir = write_pack(tmp_path, "shrinking", files)
    register_pack(pack_dir)
    (pack_dir / "actions" / "two.yaml").unlink()

    register_pack(pack_dir)

    assert list(Action.objects.values_list("ref", flat=True)) == ["shrinking.one"]


def test_action_file_that_breaks_keeps_its_previous_version(db, tmp_path, our_runners):
    pack_dir = write_pack(
        tmp_path, "p", {"one.yaml": NOOP_ACTION.format(name="one", description="v1")}
    )
    register_pack(pack_dir)
    (pack_dir / "actions" / "one.yaml").write_text("name: one\nrunner_type: [unclosed\n")

    result = register_pack(pack_dir)

    assert len(result.errors) == 1
    assert Action.objects.get(ref="p.one").description == "v1"


# --- broken packs --------------------------------------------------------------------------


def test_malformed_action_yaml_names_file_and_line_and_other_packs_load(db, tmp_path, our_runners):
    bad_text = "name: bad\nrunner_type: noop\ndescription: x\n  enabled: true\n"
    write_pack(
        tmp_path,
        "broken",
        {"bad.yaml": bad_text, "ok.yaml": NOOP_ACTION.format(name="ok", description="d")},
    )
    write_pack(tmp_path, "healthy", {"fine.yaml": NOOP_ACTION.format(name="fine", description="d")})

    report = register_packs([tmp_path])

    bad_path = tmp_path / "broken" / "actions" / "bad.yaml"
    assert report.errors == [f"{bad_path}: line 4, column 10: mapping values are not allowed here"]
    assert set(Action.objects.values_list("ref", flat=True)) == {"broken.ok", "healthy.fine"}
    assert report.packs == 2


def test_malformed_pack_yaml_writes_nothing_for_that_pack(db, tmp_path, our_runners):
    write_pack(
        tmp_path, "broken", {"a.yaml": NOOP_ACTION.format(name="a", description="d")}, "name: [x\n"
    )
    write_pack(tmp_path, "healthy", {"b.yaml": NOOP_ACTION.format(name="b", description="d")})

    report = register_packs([tmp_path])

    [error] = report.errors
    assert error.startswith(f"{tmp_path / 'broken' / 'pack.yaml'}: line 2, column 1: ")
    assert list(Pack.objects.values_list("ref", flat=True)) == ["healthy"]
    assert list(Action.objects.values_list("ref", flat=True)) == ["healthy.b"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "the top level must be a mapping, not a list"),
        ("", "the top level must be a mapping, not an empty document"),
        ("name: x\nrunner_type: no-such-runner\n", "RunnerType no-such-runner is not found."),
        ("name: x\nrunner_type: noop\nsurprise: 1\n", "Additional properties are not allowed"),
        (
            "name: x\npack: elsewhere\nrunner_type: noop\n",
            'Model is in pack "p" but field "pack" is different: elsewhere',
        ),
        (
            "name: x\nrunner_type: local-shell-cmd\nparameters:\n  sudo:\n    type: string\n",
            'The attribute "type" for the runner parameter "sudo" in action "p.x" cannot be',
        ),
    ],
)
def test_invalid_action_file_is_reported_by_name(db, tmp_path, our_runners, text, problem):
    pack_dir = write_pack(tmp_path, "p", {"x.yaml": text})

    [error] = register_pack(pack_dir).errors

    assert error.startswith(f"{pack_dir / 'actions' / 'x.yaml'}: ")
    assert problem in error
    assert not Action.objects.exists()


def test_pack_ref_comes_from_ref_then_directory_then_name(db, tmp_path):
    write_pack(tmp_path, "a", pack_yaml=pack_yaml(name="Fancy-Pack", ref="fancy_pack"))
    write_pack(tmp_path, "by_directory", pack_yaml=pack_yaml(name="Other-Pack"))
    write_pack(tmp_path, "Bad-Dir", pack_yaml=pack_yaml(name="plain_name"))
    invalid = write_pack(tmp_path, "Also-Bad", pack_yaml=pack_yaml(name="Fancy-Too"))

    report = register_packs([tmp_path])

    assert set(Pack.objects.values_list("ref", "name")) == {
        ("fancy_pack", "Fancy-Pack"),
        ("by_directory", "Other-Pack"),
        ("plain_name", "plain_name"),
    }
    [error] = report.errors
    assert error == (
        f'{invalid / "pack.yaml"}: Pack name "Fancy-Too" contains invalid characters and "ref" '
        'attribute is not available. You either need to add "ref" attribute which contains only '
        "word characters to the pack metadata file or update name attribute to contain only "
        "word characters."
    )


def test_two_packs_with_one_ref_are_refused(db, tmp_path):
    write_pack(tmp_path, "first", pack_yaml=pack_yaml(name="same", ref="same"))
    write_pack(tmp_path, "second", pack_yaml=pack_yaml(name="same", ref="same"))

    report = register_packs([tmp_path])

    assert Pack.objects.get(ref="same").path == str((tmp_path / "first").resolve())
    assert "already registered" in report.errors[0]


def test_workflow_definitions_under_actions_are_not_metadata(db, tmp_path, our_runners):
    pack_dir = write_pack(tmp_path, "p", {"a.yaml": NOOP_ACTION.format(name="a", description="d")})
    (pack_dir / "actions" / "workflows").mkdir()
    (pack_dir / "actions" / "workflows" / "flow.yaml").write_text("version: 1.0\ntasks: {}\n")

    result = register_pack(pack_dir)

    assert (result.actions, result.errors) == (1, [])


# --- path safety ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ["../../etc/passwd", "/etc/passwd", "lib/../../x.sh"])
def test_entry_point_leaving_the_pack_is_refused(db, tmp_path, our_runners, entry_point):
    text = f"name: x\nrunner_type: local-shell-script\nentry_point: {entry_point}\n"
    pack_dir = write_pack(tmp_path, "p", {"x.yaml": text})

    [error] = register_pack(pack_dir).errors

    assert f"entry_point '{entry_point}' refused" in error
    assert not Action.objects.exists()


def test_symlinks_out_of_the_pack_are_not_followed(db, tmp_path, our_runners):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(NOOP_ACTION.format(name="stolen", description="d"))
    (outside / "run.sh").write_text("echo hi\n")
    pack_dir = write_pack(
        tmp_path / "packs",
        "p",
        {"ok.yaml": "name: ok\nrunner_type: local-shell-script\nentry_point: run.sh\n"},
    )
    (pack_dir / "actions" / "linked.yaml").symlink_to(outside / "secret.yaml")
    (pack_dir / "actions" / "run.sh").symlink_to(outside / "run.sh")

    result = register_pack(pack_dir)

    assert len(result.errors) == 2
    assert all("outside the pack" in error for error in result.errors)
    assert not Action.objects.exists()
    assert Pack.objects.get(ref="p").files == ["actions/ok.yaml", "pack.yaml"]


# --- StackStorm's reference packs ----------------------------------------------------------


def test_every_reference_pack_loads_with_stackstorm_runners(db, reference):
    runner_files = sorted((reference / "runners").glob("*.yaml"))

    report = register_packs([reference / "packs"], runner_files)

    assert report.errors == []
    assert report.packs == len(list((reference / "packs").glob("*/pack.yaml")))
    assert Action.objects.count() == report.actions == len(action_files(reference / "packs"))
    packs = reference / "packs"
    assert report.rules == Rule.objects.count() == len(list(packs.glob("*/rules/*.yaml")))
    assert report.sensors == SensorType.objects.count() == len(list(packs.glob("*/sensors/*.yaml")))
    # The one warning is StackStorm's own: examples' file-watch rule needs the linux pack.
    assert report.warnings == [
        f"{(packs / 'examples').resolve()}/rules/sample_rule_file_watch.yaml: rule "
        'examples.sample_rule_file_watch: trigger type "linux.file_watch.line" is not '
        "registered: the rule cannot fire until a pack (or the API) registers it."
    ]


def test_every_reference_pack_loads_with_our_runner_types(db, reference):
    report = register_packs([reference / "packs"], [settings.ST2_RUNNER_TYPES_FILE])

    assert report.errors == []
    assert Action.objects.count() == len(action_files(reference / "packs"))


def test_the_reference_packs_loaded_again_are_all_skipped(db, reference):
    runner_files = [settings.ST2_RUNNER_TYPES_FILE]
    first = register_packs([reference / "packs"], runner_files)

    again = register_packs([reference / "packs"], runner_files)

    assert (again.packs, again.actions, again.unchanged) == (0, 0, first.packs)
    assert (again.errors, again.warnings) == (first.errors, first.warnings)


# --- manage.py register_packs --------------------------------------------------------------


def run_command(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("register_packs", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_defaults_to_settings_and_prints_a_summary(db):
    runner_count = len(yaml.safe_load(Path(settings.ST2_RUNNER_TYPES_FILE).read_text()))
    action_count = len(action_files(BUNDLED_PACKS))

    stdout, stderr = run_command()

    assert stdout.strip() == (
        f"Registered {runner_count} runner types, {BUILTIN_TRIGGER_TYPES} trigger types, 3 packs, "
        f"{action_count} actions, 0 rules, 0 sensors; 0 packs unchanged"
    )
    assert stderr == ""
    again, _ = run_command()
    assert again.strip() == (
        f"Registered {runner_count} runner types, {BUILTIN_TRIGGER_TYPES} trigger types, 0 packs, "
        "0 actions, 0 rules, 0 sensors; 3 packs unchanged"
    )


def test_command_lists_problems_and_still_succeeds(db, tmp_path):
    write_pack(tmp_path, "broken", {"bad.yaml": "name: [\n"})
    write_pack(tmp_path, "healthy", {"a.yaml": NOOP_ACTION.format(name="a", description="d")})

    stdout, stderr = run_command("--packs-dir", str(tmp_path))

    assert "2 packs, 1 actions" in stdout
    assert f"{tmp_path / 'broken' / 'actions' / 'bad.yaml'}: line 2, column 1: " in stdout
    assert Action.objects.filter(ref="healthy.a").exists()


def test_command_fails_on_error_when_asked(db, tmp_path):
    write_pack(tmp_path, "broken", {"bad.yaml": "name: [\n"})

    with pytest.raises(CommandError, match="1 problem"):
        run_command("--packs-dir", str(tmp_path), "--fail-on-error")


def test_command_takes_runner_files_and_a_single_pack_dir(db, reference):
    stdout, stderr = run_command(
        "--runner-types",
        str(reference / "runners" / "noop_runner.yaml"),
        "--runner-types",
        str(reference / "runners" / "local_runner.yaml"),
        "--packs-dir",
        str(BUNDLED_PACKS / "demo"),
    )

    assert f"Registered 3 runner types, {BUILTIN_TRIGGER_TYPES} trigger types, 1 packs" in stdout
    assert "RunnerType python-script is not found." in stdout  # demo.greet needs it
    assert not RunnerType.objects.filter(name="http-request").exists()
