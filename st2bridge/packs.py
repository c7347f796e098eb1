"""Registers runner definitions and StackStorm pack directories from disk (notes §3).

A pack directory holds `pack.yaml` and optionally `actions/*.yaml|yml` (action metadata; files
in sub-directories such as `actions/workflows/` are workflow definitions, not metadata).
Registering again updates records in place, keyed by runner name, pack ref and action ref.
`rules/*.yaml` are not read yet: there is no Rule model; they still appear in the pack's files.

What a problem costs:
- a runner file that is unreadable or has one invalid entry registers nothing;
- a pack whose pack.yaml is unreadable or invalid registers nothing (one transaction per pack);
- a bad action file is reported and skipped, and the rest of its pack registers. The action it
  defined before, if any, is kept, so a typo does not make an action vanish. Actions whose
  metadata file is gone from disk are deleted, as StackStorm does on re-registration.

Every problem is a RegistrationError whose message starts with the file's path (and for YAML
syntax errors its line and column), so `register_packs` can report it and go on.

Path safety: files are read only when they resolve inside the pack directory, so a symlink
pointing elsewhere is refused; entry points must be relative paths without `..`. The pack
directory itself may be a symlink (a checkout kept elsewhere): its target is the pack.
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import jsonschema
import yaml
from django.db import transaction

from . import catalog, configs, rulebook, triggers
from .bodies import describe
from .errors import InvalidInput, St2Error
from .models import Action, Pack, RunnerType
from .params import check_action_parameters

PACK_REF_PATTERN = re.compile(r"^[a-z0-9_]+$")
ACTION_FILE_SUFFIXES = (".yaml", ".yml")
SKIPPED_NAMES = {".git", "__pycache__"}

RUNNER_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "runner_package": {"type": "string", "maxLength": 200},
        "runner_module": {"type": "string", "maxLength": 200},
        "runner_parameters": {"type": "object"},
        "output_key": {"type": "string", "maxLength": 100},
        "output_schema": {"type": "object"},
    },
}


class RegistrationError(Exception):
    """A file that cannot be registered; the message names it."""


@dataclass
class PackResult:
    ref: str
    actions: int = 0
    rules: int = 0
    errors: list = field(default_factory=list)


@dataclass
class RegistrationReport:
    runner_types: int = 0
    trigger_types: int = 0
    packs: int = 0
    actions: int = 0
    rules: int = 0
    errors: list = field(default_factory=list)

    def summary(self):
        return (
            f"Registered {self.runner_types} runner types, {self.trigger_types} trigger types, "
            f"{self.packs} packs, {self.actions} actions, {self.rules} rules"
        )


# --- reading files -------------------------------------------------------------------------


def load_yaml(path):
    """The document in `path`, JSON-safe; RegistrationError names the file (and line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RegistrationError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise RegistrationError(f"{path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        raise RegistrationError(_describe_yaml_error(path, error)) from None
    except yaml.YAMLError as error:
        raise RegistrationError(f"{path}: {error}") from None
    return _json_safe(path, data)


def _describe_yaml_error(path, error):
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if mark is None:
        return f"{path}: {problem}"
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}"


def _json_safe(path, data):
    # YAML has dates and NaN, JSON columns do not; dates become their ISO text, as
    # StackStorm's API shows them, and anything else unstorable is refused by name.
    try:
        return json.loads(json.dumps(data, default=str, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise RegistrationError(f"{path}: cannot be stored as JSON: {error}") from None


def load_mapping(path):
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RegistrationError(f"{path}: the top level must be a mapping, not {_kind(data)}")
    return data


def _kind(data):
    return "an empty document" if data is None else f"a {type(data).__name__}"


def _check_schema(path, data, schema):
    error = jsonschema.exceptions.best_match(jsonschema.Draft4Validator(schema).iter_errors(data))
    if error is not None:
        raise RegistrationError(f"{path}: {describe(error)}")


def _inside(path, root):
    """Whether `path`, symlinks followed, is within `root` (an already resolved directory)."""
    return Path(path).resolve().is_relative_to(root)


def _confined(path, root):
    if not _inside(path, root):
        raise RegistrationError(f"{path}: refused: it resolves outside the pack directory")
    return path


# --- runner types --------------------------------------------------------------------------


def register_runner_types(path):
    """Upsert every runner of a StackStorm runner.yaml (a list) by name; returns the count.
    An administrator's `enabled` choice survives re-registration, as in StackStorm."""
    runners = load_yaml(path)
    if not isinstance(runners, list):
        raise RegistrationError(f"{path}: the top level must be a list, not {_kind(runners)}")
    for index, runner in enumerate(runners):
        _check_runner(f"{path}: runner #{index + 1}", runner)
    with transaction.atomic():
        for runner in runners:
            _upsert_runner(runner)
    return len(runners)


def _check_runner(where, runner):
    _check_schema(where, runner, RUNNER_SCHEMA)
    try:
        check_action_parameters(runner["name"], {}, runner.get("runner_parameters"))
    except InvalidInput as error:
        raise RegistrationError(f"{where} ({runner['name']}): {error.message}") from None


def _upsert_runner(runner):
    fields = {
        "description": runner.get("description", ""),
        "enabled": runner.get("enabled", True),
        "runner_package": runner.get("runner_package", ""),
        "runner_module": runner.get("runner_module", ""),
        "runner_parameters": runner.get("runner_parameters") or {},
        "output_key": runner.get("output_key", ""),
        "output_schema": runner.get("output_schema") or {},
    }
    existing = RunnerType.objects.filter(name=runner["name"]).first()
    if existing is None:
        RunnerType.objects.create(name=runner["name"], **fields)
        return
    del fields["enabled"]
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save()


# --- packs ---------------------------------------------------------------------------------


def register_packs(dirs, runner_type_files=()):
    """Register runner files first (actions need them), then every pack found in `dirs`:
    each is a directory of packs or a single pack directory. Never raises RegistrationError;
    problems are collected in the report and the other packs still load."""
    report = RegistrationReport()
    report.trigger_types = triggers.register_builtin_trigger_types()
    for path in runner_type_files:
        try:
            report.runner_types += register_runner_types(path)
        except RegistrationError as error:
            report.errors.append(str(error))
    registered = {}
    for directory in dirs:
        try:
            pack_dirs = find_pack_dirs(directory)
        except RegistrationError as error:
            report.errors.append(str(error))
            continue
        for pack_dir in pack_dirs:
            _register_into(report, pack_dir, registered)
    configs.load_config_files(report.errors)  # <ST2_CONFIGS_DIR>/<pack>.yaml, when changed
    return report


def _register_into(report, pack_dir, registered):
    try:
        result = register_pack(pack_dir, registered)
    except RegistrationError as error:
        report.errors.append(str(error))
        return
    report.packs += 1
    report.actions += result.actions
    report.rules += result.rules
    report.errors.extend(result.errors)


def find_pack_dirs(directory):
    """`directory` itself when it is a pack (has pack.yaml), else its sub-directories."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistrationError(f"{directory}: packs directory not found")
    if (directory / "pack.yaml").exists():
        return [directory]
    return sorted(
        child
        for child in directory.iterdir()
        if child.is_dir() and child.name not in SKIPPED_NAMES and not child.name.startswith(".")
    )


def register_pack(pack_dir, registered=None):
    """Register one pack and its actions in one transaction; returns a PackResult whose
    `errors` lists the action files that were skipped. Raises RegistrationError, having
    written nothing, when the pack itself cannot be registered. `registered` maps the refs
    already registered in this run to their directory, so two packs cannot share a ref."""
    pack_dir = Path(pack_dir)
    root = pack_dir.resolve()
    metadata_path = pack_dir / "pack.yaml"
    if not metadata_path.exists():
        raise RegistrationError(f"{pack_dir}: not a pack: pack.yaml is missing")
    metadata = load_mapping(_confined(metadata_path, root))
    ref = pack_ref(metadata_path, metadata)
    _claim_ref(registered, ref, metadata_path, root)
    actions, failed_files, errors = _read_actions(ref, pack_dir, root)
    with transaction.atomic():
        _save_pack(ref, metadata, root)
        _save_actions(ref, actions, failed_files)
        _register_trigger_types(ref, pack_dir, root, errors)
        rules = _register_rules(ref, pack_dir, root, errors)
        configs.register_schema(ref, root, errors)
    return PackResult(ref=ref, actions=len(actions), rules=rules, errors=errors)


def _metadata_files(pack_dir, root, folder):
    directory = pack_dir / folder
    if not directory.is_dir():
        return []
    found = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return [path for path in found if path.is_file() and _inside(path, root)]


def _register_trigger_types(pack, pack_dir, root, errors):
    """Trigger types a pack declares, as StackStorm reads them: `trigger_types` of
    sensors/*.yaml."""
    for path in _metadata_files(pack_dir, root, "sensors"):
        try:
            for spec in load_mapping(path).get("trigger_types") or []:
                triggers.save_trigger_type(pack, spec, str(path.relative_to(pack_dir)))
        except (RegistrationError, KeyError, TypeError) as error:
            errors.append(f"{path}: {error}")


def _register_rules(pack, pack_dir, root, errors):
    """rules/*.yaml; a bad rule file is reported and the others still register."""
    count = 0
    for path in _metadata_files(pack_dir, root, "rules"):
        try:
            body = load_mapping(path)
            with transaction.atomic():
                rulebook.save_rule_from_disk(pack, body, str(path.relative_to(pack_dir)))
            count += 1
        except RegistrationError as error:
            errors.append(str(error))
        except St2Error as error:
            errors.append(f"{path}: {error.message}")
    return count


def pack_ref(path, metadata):
    """StackStorm's rule: `ref` when pack.yaml has one, else `name`; both must be a valid
    ref (`^[a-z0-9_]+$`), so a name with dashes needs a separate `ref`."""
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise RegistrationError(f"{path}: pack.yaml needs a `name`")
    ref = metadata.get("ref") or name
    if not isinstance(ref, str) or not PACK_REF_PATTERN.match(ref):
        source = "ref" if metadata.get("ref") else "name"
        raise RegistrationError(
            f"{path}: pack {source} {ref!r} is not a valid pack ref: use only lowercase "
            "letters, digits and underscores, or add a `ref` that does"
        )
    return ref


def _claim_ref(registered, ref, path, root):
    if registered is None:
        return
    if ref in registered:
        raise RegistrationError(
            f"{path}: pack {ref!r} is already registered from {registered[ref]}"
        )
    registered[ref] = root


def pack_files(root):
    """Relative paths of the pack's files, sorted; no .git, __pycache__, *.pyc, nor
    symlinks that lead outside the pack (symlinked directories are not entered)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name not in SKIPPED_NAMES]
        for name in filenames:
            path = Path(dirpath, name)
            if name.endswith(".pyc") or not _inside(path, root):
                continue
            files.append(path.relative_to(root).as_posix())
    return sorted(files)


def _save_pack(ref, metadata, root):
    Pack.objects.update_or_create(
        ref=ref,
        defaults={
            "name": metadata["name"],
            "path": str(root),
            "metadata": metadata,
            "files": pack_files(root),
        },
    )


# --- actions -------------------------------------------------------------------------------


def action_metadata_files(pack_dir, root):
    """The top-level actions/*.yaml|yml files, sorted."""
    actions_dir = pack_dir / "actions"
    if not actions_dir.is_dir():
        return []
    _confined(actions_dir, root)
    return sorted(
        path
        for path in actions_dir.iterdir()
        if path.suffix in ACTION_FILE_SUFFIXES and not path.is_dir()
    )


def _read_actions(ref, pack_dir, root):
    """(actions as model fields, metadata files that failed, error messages)."""
    runners = dict(RunnerType.objects.values_list("name", "runner_parameters"))
    actions, failed_files, errors = {}, set(), []
    for path in action_metadata_files(pack_dir, root):
        relative = path.relative_to(pack_dir).as_posix()
        try:
            action = read_action(ref, path, root, runners)
            _check_unique(path, action, actions)
        except RegistrationError as error:
            errors.append(str(error))
            failed_files.add(relative)
            continue
        actions[action["ref"]] = {**action, "metadata_file": relative}
    return list(actions.values()), failed_files, errors


def read_action(pack, path, root, runners):
    """One action metadata file as Action fields; `runners` maps runner names to their
    parameters. Raises RegistrationError naming the file."""
    meta = load_mapping(_confined(path, root))
    _check_schema(path, meta, catalog.ACTION_SCHEMA)
    declared_pack = meta.get("pack") or pack
    if declared_pack != pack:
        raise RegistrationError(
            f'{path}: action is in pack "{pack}" but says pack "{declared_pack}"'
        )
    runner_type = meta["runner_type"]
    if runner_type not in runners:
        raise RegistrationError(f"{path}: RunnerType {runner_type} is not found.")
    ref = f"{pack}.{meta['name']}"
    try:
        check_action_parameters(ref, runners[runner_type], meta.get("parameters"))
    except InvalidInput as error:
        raise RegistrationError(f"{path}: {error.message}") from None
    entry_point = meta.get("entry_point") or ""
    _check_entry_point(path, entry_point, root)
    return {
        "ref": ref,
        "pack": pack,
        "name": meta["name"],
        "description": meta.get("description", ""),
        "enabled": meta.get("enabled", True),
        "runner_type": runner_type,
        "entry_point": entry_point,
        "parameters": meta.get("parameters") or {},
        "output_schema": meta.get("output_schema") or {},
        "tags": meta.get("tags") or [],
        "notify": meta.get("notify") or {},
    }


def _check_entry_point(path, entry_point, root):
    # Runners execute the entry point (relative to actions/), so it must stay in the pack.
    if not entry_point:
        return
    pure = PurePosixPath(entry_point)
    if pure.is_absolute() or ".." in pure.parts:
        raise RegistrationError(
            f"{path}: entry_point {entry_point!r} refused: it must be a relative path inside "
            "the pack's actions directory, without '..'"
        )
    if not _inside(root / "actions" / entry_point, root):
        raise RegistrationError(
            f"{path}: entry_point {entry_point!r} refused: it resolves outside the pack directory"
        )


def _check_unique(path, action, actions):
    other = actions.get(action["ref"])
    if other is not None:
        raise RegistrationError(
            f"{path}: action {action['ref']} is already defined in {other['metadata_file']}"
        )


def _save_actions(pack, actions, failed_files):
    for action in actions:
        Action.objects.update_or_create(ref=action["ref"], defaults=action)
    # Actions created through the API without a file (metadata_file "") are not the
    # loader's to delete, nor are those whose file is still there but failed to load.
    Action.objects.filter(pack=pack).exclude(metadata_file="").exclude(
        ref__in=[action["ref"] for action in actions]
    ).exclude(metadata_file__in=failed_files).delete()
