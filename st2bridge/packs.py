"""Registers runner definitions and StackStorm pack directories from disk (notes §3), as
StackStorm's registrars do: pack.yaml, actions/*, rules/*, sensors/* (sensor types and the
trigger types they declare) and triggers/* (metadata files: *.json, *.yaml, *.yml; files in
sub-directories such as actions/workflows/ are workflow definitions, not metadata). What the
files must hold, with StackStorm's tolerance of null optional fields and its refusals, is
st2bridge.pack_schemas'; reading them, st2bridge.pack_files'.

What a problem costs:
- a runner file that is unreadable or has one invalid entry registers nothing;
- a pack whose pack.yaml is unreadable or invalid registers nothing (one transaction per pack);
- a bad action, rule, sensor or trigger file is reported and skipped, and the rest of its pack
  registers. The action it defined before, if any, is kept, so a typo does not make an action
  vanish. Actions and sensors whose file is gone from disk are deleted, as StackStorm does on
  re-registration.
Every problem is kept (PackProblem) with the pack directory, the file and the reason, for
`register_packs` to list and for admins to see (GET /api/v1/packs/views/problems, the portal's
pack list). Rules naming a trigger type or action that is not registered are registered, as
StackStorm does, with a warning, checked again on every run.

Speed: a pack whose files, runner types and loader are those it was last registered with
(pack_files.scan, kept in Pack.content_hash) is skipped, with the problems it had;
`force` registers every pack again. Actions are written in bulk.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.db import transaction

from . import access, catalog, configs, pack_extras, rulebook, sensors, triggers
from .errors import InvalidInput, St2Error
from .models import Action, Pack, PackProblem, RunnerType
from .pack_files import (
    RegistrationError,
    confined,
    find_pack_dirs,
    inside_below,
    kind,
    load_mapping,
    load_yaml,
    metadata_files,
    scan,
)
from .pack_schemas import (
    TRIGGER_TYPE_SCHEMA,
    checked,
    checked_pack,
    checked_sensor,
    in_pack,
    pack_ref,
    sensor_entry_point,
)
from .params import check_action_parameters
from .records import upsert_by_ref

__all__ = [
    "RegistrationError",
    "list_problems",
    "register_pack",
    "register_packs",
    "register_runner_types",
]

# Part of every pack's content hash: raise it when registration makes something else of the
# same files, so that every pack is registered again once.
LOADER_VERSION = "2"
PARAMETER_NAME = re.compile(r"^\w+$")
BATCH = 500  # rows per bulk statement

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


@dataclass
class Problem:
    """A file (or a whole pack, or a runner file) registration refused, or a warning."""

    pack: str
    directory: str
    file: str
    reason: str
    level: str = PackProblem.ERROR

    @property
    def path(self):
        if not self.file or self.file.startswith("/"):
            return self.file or self.directory
        return f"{self.directory}/{self.file}"

    def __str__(self):
        return f"{self.path}: {self.reason}"

    @classmethod
    def of(cls, error, directory, pack="", *bases):
        """The problem a RegistrationError describes, its file relative to `directory` (or
        one of `bases`, the unresolved spellings of it) when it is inside."""
        path = Path(error.path)
        relative = str(path)
        for base in (*bases, directory):
            if path.is_relative_to(base):
                relative = path.relative_to(base).as_posix()
                break
        relative = "" if relative == "." else relative
        return cls(pack, str(directory), relative, error.located_reason)

    def to_row(self):
        return PackProblem(
            pack=self.pack,
            directory=self.directory,
            file=self.file,
            reason=self.reason,
            level=self.level,
        )


class _Listed:
    """`errors` and `warnings`: the `problems` of each level, as text."""

    @property
    def errors(self):
        return [str(problem) for problem in self.problems if problem.level == PackProblem.ERROR]

    @property
    def warnings(self):
        return [str(problem) for problem in self.problems if problem.level != PackProblem.ERROR]


@dataclass
class PackResult(_Listed):
    ref: str
    actions: int = 0
    rules: int = 0
    sensors: int = 0
    problems: list = field(default_factory=list)


@dataclass
class RegistrationReport(_Listed):
    runner_types: int = 0
    trigger_types: int = 0
    packs: int = 0
    unchanged: int = 0
    actions: int = 0
    rules: int = 0
    sensors: int = 0
    # Every problem known after the run: this run's, and those kept for unchanged packs.
    problems: list = field(default_factory=list)

    def summary(self):
        return (
            f"Registered {self.runner_types} runner types, {self.trigger_types} trigger types, "
            f"{self.packs} packs, {self.actions} actions, {self.rules} rules, "
            f"{self.sensors} sensors; {self.unchanged} packs unchanged"
        )


# --- runner types --------------------------------------------------------------------------


def register_runner_types(path):
    """Upsert every runner of a StackStorm runner.yaml (a list) by name; returns the count.
    An administrator's `enabled` choice survives re-registration, as in StackStorm."""
    runners = load_yaml(path)
    if not isinstance(runners, list):
        raise RegistrationError(path, f"the top level must be a list, not {kind(runners)}")
    runners = [_checked_runner(path, index, runner) for index, runner in enumerate(runners)]
    with transaction.atomic():
        for runner in runners:
            _upsert_runner(runner)
    return len(runners)


def _checked_runner(path, index, runner):
    try:
        runner = checked(path, runner, RUNNER_SCHEMA)
    except RegistrationError as error:
        raise RegistrationError(path, f"runner #{index + 1}: {error.reason}") from None
    try:
        check_action_parameters(runner["name"], {}, runner.get("runner_parameters"))
    except InvalidInput as error:
        reason = f"runner #{index + 1} ({runner['name']}): {error.message}"
        raise RegistrationError(path, reason) from None
    return runner


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


def runner_digest():
    """What the registered runner types say about actions (their names and parameters):
    part of every pack's content hash, since actions are checked against them."""
    rows = RunnerType.objects.order_by("name").values_list("name", "runner_parameters")
    text = json.dumps(list(rows), sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# --- packs ---------------------------------------------------------------------------------


def register_packs(dirs, runner_type_files=(), force=False):
    """Register runner files first (actions need them), then every pack found in `dirs`:
    each is a directory of packs or a single pack directory. Packs unchanged since they were
    last registered are skipped, unless `force`. Never raises RegistrationError: problems
    are collected (and kept, see PackProblem) and the other packs still load."""
    report = RegistrationReport()
    report.trigger_types = triggers.register_builtin_trigger_types()
    problems = []
    for path in runner_type_files:
        try:
            report.runner_types += register_runner_types(path)
        except RegistrationError as error:
            problems.append(Problem.of(error, Path(path).resolve().parent, "", Path(path).parent))
    run = _Run(runner_digest(), force)
    for directory in dirs:
        try:
            pack_dirs = find_pack_dirs(directory)
        except RegistrationError as error:
            problems.append(Problem("", str(directory), "", error.reason))
            continue
        for pack_dir in pack_dirs:
            _register_into(report, run, pack_dir, problems)
    config_errors = []
    configs.load_config_files(config_errors)  # <ST2_CONFIGS_DIR>/<pack>.yaml, when changed
    problems.extend(Problem("", "", str(path), reason) for path, reason in config_errors)
    problems.extend(_reference_warnings())
    report.problems = _keep_problems(problems, run.unchanged_dirs)
    return report


class _Run:
    """What one register_packs run knows: the runner digest, the packs registered before
    (by directory: ref and content hash), the refs claimed so far and the dirs skipped."""

    def __init__(self, digest, force):
        self.digest = digest
        self.force = force
        self.known = {path: (ref, hashed) for ref, path, hashed in _pack_rows()}
        self.claimed = {}
        self.unchanged_dirs = set()


def _pack_rows():
    return Pack.objects.values_list("ref", "path", "content_hash")


def _register_into(report, run, pack_dir, problems):
    root = Path(pack_dir).resolve()
    scanned = scan(root, LOADER_VERSION, run.digest)
    ref, hashed = run.known.get(str(root), (None, None))
    if not run.force and hashed == scanned[0] and ref not in run.claimed:
        run.claimed[ref] = root
        run.unchanged_dirs.add(str(root))
        report.unchanged += 1
        return
    try:
        result = register_pack(pack_dir, run.claimed, scanned=scanned)
    except RegistrationError as error:
        problems.append(Problem.of(error, root, ref or "", Path(pack_dir)))
        return
    report.packs += 1
    report.actions += result.actions
    report.rules += result.rules
    report.sensors += result.sensors
    problems.extend(result.problems)


def register_pack(pack_dir, registered=None, scanned=None):
    """Register one pack in one transaction; returns a PackResult whose `problems` list the
    files that were skipped. Raises RegistrationError, having written nothing, when the pack
    itself cannot be registered. `registered` maps the refs already registered in this run
    to their directory, so two packs cannot share a ref. `scanned`: pack_files.scan of the
    pack (its content hash and files), done here when not given."""
    pack_dir = Path(pack_dir)
    root = pack_dir.resolve()
    scanned = scanned or scan(root, LOADER_VERSION, runner_digest())
    metadata_path = pack_dir / "pack.yaml"
    if not metadata_path.exists():
        raise RegistrationError(pack_dir, f'Pack "{pack_dir.name}" is missing pack.yaml file')
    metadata = load_yaml(confined(metadata_path, root))
    if not metadata:
        raise RegistrationError(metadata_path, f'Pack "{pack_dir}" metadata file is empty')
    if not isinstance(metadata, dict):
        raise RegistrationError(
            metadata_path, f"the top level must be a mapping, not {kind(metadata)}"
        )
    metadata = checked_pack(metadata_path, metadata)
    ref = pack_ref(metadata_path, metadata, pack_dir.name)
    _claim_ref(registered, ref, metadata_path, root)
    content = _PackContent(ref, pack_dir, root)
    with transaction.atomic():
        _save_pack(ref, metadata, root, scanned)
        _save_actions(ref, content.actions, content.failed_actions)
        content.save_trigger_types()
        sensor_count = content.save_sensors()
        rules = content.save_rules()
        content.save_config_schema()
        pack_extras.register_extras(ref, pack_dir, root, content._problem)  # aliases, policies
    return PackResult(
        ref=ref,
        actions=len(content.actions),
        rules=rules,
        sensors=sensor_count,
        problems=content.problems,
    )


def _claim_ref(registered, ref, path, root):
    if registered is None:
        return
    if ref in registered:
        raise RegistrationError(path, f"pack {ref!r} is already registered from {registered[ref]}")
    registered[ref] = root


def _save_pack(ref, metadata, root, scanned):
    digest, files = scanned
    Pack.objects.update_or_create(
        ref=ref,
        defaults={
            "name": metadata["name"],
            "path": str(root),
            "metadata": metadata,
            "files": files,
            "content_hash": digest,
        },
    )


class _PackContent:
    """The metadata files of one pack: the actions read and checked before anything is
    written, the rest saved file by file (save_*); what failed is in `problems`."""

    def __init__(self, ref, pack_dir, root):
        self.ref, self.pack_dir, self.root = ref, pack_dir, root
        self.problems = []
        runners = dict(RunnerType.objects.values_list("name", "runner_parameters"))
        self.actions, self.failed_actions = {}, set()
        for path in self._files("actions"):
            relative = self._relative(path)
            try:
                action = read_action(ref, path, root, runners)
                _check_unique(path, action, self.actions)
            except RegistrationError as error:
                self._problem(error)
                self.failed_actions.add(relative)
                continue
            self.actions[action["ref"]] = {**action, "metadata_file": relative}
        self.actions = list(self.actions.values())

    def _files(self, folder):
        try:
            found, refused = metadata_files(self.pack_dir, self.root, folder)
        except RegistrationError as error:
            self._problem(error)
            return []
        for path in refused:
            self._problem(
                RegistrationError(path, "refused: it resolves outside the pack directory")
            )
        return found

    def _relative(self, path):
        return path.relative_to(self.pack_dir).as_posix()

    def _problem(self, error):
        self.problems.append(Problem.of(error, self.root, self.ref, self.pack_dir))

    def save_config_schema(self):
        errors = []
        configs.register_schema(self.ref, self.root, errors)
        self.problems += [Problem(self.ref, "", str(path), reason) for path, reason in errors]

    def _each(self, folder, handle):
        """handle(path, mapping) for every metadata file of `folder`; a file that fails is
        reported and the others go on. Returns how many were handled."""
        count = 0
        for path in self._files(folder):
            try:
                with transaction.atomic():
                    handle(path, load_mapping(path))
                count += 1
            except RegistrationError as error:
                self._problem(error)
            except St2Error as error:
                self._problem(RegistrationError(path, error.message))
        return count

    def save_trigger_types(self):
        """triggers/*.yaml: one trigger type each (StackStorm's TriggersRegistrar)."""
        self._each("triggers", self._save_trigger_type)

    def _save_trigger_type(self, path, data):
        spec = checked(path, in_pack(path, data, self.ref), TRIGGER_TYPE_SCHEMA)
        triggers.save_trigger_type(self.ref, spec, self._relative(path))

    def save_sensors(self):
        """sensors/*.yaml: a sensor type each, and the trigger types it declares; written
        together once every file is read."""
        found, failed = [], set()
        for path in self._files("sensors"):
            metadata_file = self._relative(path)
            try:
                sensor = checked_sensor(path, load_mapping(path), self.ref)
                _check_entry_point(path, sensor["entry_point"], self.root, "sensors")
            except RegistrationError as error:
                self._problem(error)
                failed.add(metadata_file)
                continue
            found.append((sensor, metadata_file))
        specs = [(spec, file) for sensor, file in found for spec in sensor["trigger_types"]]
        triggers.save_trigger_types(self.ref, specs)
        return sensors.save_sensor_types(
            self.ref,
            [
                {
                    **sensor,
                    "trigger_types": [
                        f"{self.ref}.{spec['name']}" for spec in sensor["trigger_types"]
                    ],
                    "artifact_uri": f"file://{(self.root / file).parent / sensor['entry_point']}",
                    "entry_point": sensor_entry_point(
                        file, sensor["entry_point"], sensor["class_name"]
                    ),
                    "metadata_file": file,
                }
                for sensor, file in found
            ],
            failed,
        )

    def save_rules(self):
        """rules/*.yaml, as StackStorm registers them: a rule may name a trigger type or an
        action that is not registered (a warning, see _reference_warnings)."""

        def save(path, data):
            body = in_pack(path, data, self.ref)
            body = rulebook.without_null_optionals(body)
            rulebook.save_rule_from_disk(self.ref, body, self._relative(path))

        return self._each("rules", save)


def read_action(pack, path, root, runners):
    """One action metadata file (one of pack_files.metadata_files: inside the pack) as Action
    fields; `runners` maps runner names to their parameters. Raises RegistrationError naming
    the file."""
    meta = in_pack(path, load_mapping(path), pack)
    meta = checked(path, meta, catalog.ACTION_SCHEMA)
    for name in meta.get("parameters") or {}:
        if not PARAMETER_NAME.match(name):
            raise RegistrationError(
                path,
                f'Parameter name "{name}" is invalid. Valid characters for parameter name '
                "are [a-zA-Z0-0_].",
            )
    runner_type = meta["runner_type"]
    if runner_type not in runners:
        raise RegistrationError(
            path,
            f"RunnerType {runner_type} is not found. If you are using old and deprecated runner "
            "name, you need to switch to a new one. For more information, please see "
            "https://docs.stackstorm.com/upgrade_notes.html#st2-v0-9",
        )
    ref = f"{pack}.{meta['name']}"
    try:
        check_action_parameters(ref, runners[runner_type], meta.get("parameters"))
    except InvalidInput as error:
        raise RegistrationError(path, error.message) from None
    entry_point = meta.get("entry_point") or ""
    _check_entry_point(path, entry_point, root, "actions")
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


def _check_entry_point(path, entry_point, root, folder):
    # Runners (and later sensors) execute the entry point (relative to `folder`, where its
    # metadata is), so it must stay in the pack.
    if not entry_point:
        return
    pure = PurePosixPath(entry_point)
    if pure.is_absolute() or ".." in pure.parts:
        raise RegistrationError(
            path,
            f"entry_point {entry_point!r} refused: it must be a relative path inside the "
            f"pack's {folder} directory, without '..'",
        )
    if not inside_below(root, folder, *pure.parts):
        raise RegistrationError(
            path, f"entry_point {entry_point!r} refused: it resolves outside the pack directory"
        )


def _check_unique(path, action, actions):
    other = actions.get(action["ref"])
    if other is not None:
        raise RegistrationError(
            path, f"action {action['ref']} is already defined in {other['metadata_file']}"
        )


def _save_actions(pack, actions, failed_files):
    """Create and change the pack's actions in bulk (an unchanged row is not written), then
    delete those whose file is gone."""
    refs = [action["ref"] for action in actions]
    existing = {}
    for start in range(0, len(refs), BATCH):
        for row in Action.objects.filter(ref__in=refs[start : start + BATCH]):
            existing[row.ref] = row
    wanted = {
        action["ref"]: {name: value for name, value in action.items() if name != "ref"}
        for action in actions
    }
    upsert_by_ref(Action, wanted, existing, BATCH)
    # Actions created through the API without a file (metadata_file "") are not the
    # loader's to delete, nor are those whose file is still there but failed to load.
    Action.objects.filter(pack=pack).exclude(metadata_file="").exclude(ref__in=refs).exclude(
        metadata_file__in=failed_files
    ).delete()


# --- what registration leaves known ---------------------------------------------------------


def _reference_warnings():
    """Warnings for the rules of every registered pack that name a trigger type or action
    that is not registered (checked on every run: another pack may have brought or taken
    it). Rules that waited for their trigger type are bound to it first."""
    found = list(rulebook.bind_pending_triggers())
    found += [
        (rule, text)
        for rule, texts in rulebook.reference_warnings(rulebook.rules_from_packs()).items()
        for text in texts
    ]
    paths = dict(Pack.objects.values_list("ref", "path"))
    return [
        Problem(
            rule.pack,
            paths.get(rule.pack, ""),
            rule.metadata_file,
            f"rule {rule.ref}: {text}",
            PackProblem.WARNING,
        )
        for rule, text in found
    ]


def _keep_problems(problems, unchanged_dirs):
    """Store this run's problems in place of those they replace: all but the errors of the
    packs skipped as unchanged, which still hold. Returns every problem now known."""
    with transaction.atomic():
        PackProblem.objects.exclude(directory__in=unchanged_dirs, level=PackProblem.ERROR).delete()
        PackProblem.objects.bulk_create([problem.to_row() for problem in problems], BATCH)
    return [
        Problem(row.pack, row.directory, row.file, row.reason, row.level)
        for row in PackProblem.objects.all()
    ]


def list_problems(caller, pack=None, level=None):
    """The problems kept from registration, as API dicts (admins only): every one, or those
    of one pack ref, or of one level (error, warning)."""
    access.require_admin(
        caller,
        refusal=f'User "{caller.username}" may not read pack registration problems: '
        "administrator access is required.",
    )
    rows = PackProblem.objects.all()
    if pack is not None:
        rows = rows.filter(pack=pack)
    if level is not None:
        rows = rows.filter(level=level)
    return [
        {
            "pack": row.pack,
            "directory": row.directory,
            "file": row.file,
            "reason": row.reason,
            "level": row.level,
        }
        for row in rows
    ]
