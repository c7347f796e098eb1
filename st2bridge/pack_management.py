"""Installing, removing and registering packs through the API (StackStorm's POST
/packs/install, /packs/uninstall and /packs/register), for administrators only.

Installing. StackStorm downloads packs from its Exchange or git; this server installs from a
local directory: `file:///path/to/pack`, under one of settings.ST2_PACK_INSTALL_ROOTS (the
path resolved, symlinks and `..` included, must stay under one), into
settings.ST2_PACKS_INSTALL_DIR/<ref>, registered at once and on every start. Anything else (a
pack name, a URL) is a 400 saying so. Everything is checked before anything is written: the
directory holds pack.yaml with a valid ref, no system pack's ref, no ref of a pack registered
from elsewhere; no symlink leading out of it, no special file, at most MAX_FILES files and
MAX_BYTES. The copy is checked again (the source may change meanwhile), then takes the
place of the installed version, which comes back if the new one fails to register.

Removing deletes what the pack registered (its rules first, releasing their triggers; then
every row of the pack, whatever its kind) and its directory, for packs installed this way;
others are refused (a bundled pack would come back at the next start).

In StackStorm the three are actions (packs.install, ...) and answer with an execution id; so
here: the work is done within the request, and recorded as a finished execution of
packs.install / packs.uninstall (the caller's, with StackStorm's result keys), whose id is the
answer: `st2 pack install` follows it as it follows StackStorm's.
"""

import os
import shutil
import stat
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import access, catalog, executions, lifecycle, pack_schemas, packs, triggers
from .bodies import check_body
from .errors import InvalidInput
from .formats import fixed_id, isotime
from .models import Action, Execution, Pack, Rule, RunnerType
from .pack_files import SKIPPED_NAMES, RegistrationError, load_mapping

MAX_FILES = 20_000
MAX_BYTES = 200 * 1024 * 1024

_PACKS = {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 50}
INSTALL_SCHEMA = {
    "type": "object",
    "required": ["packs"],
    "properties": {
        "packs": {**_PACKS, "minItems": 1},
        "force": {"type": "boolean"},
        "skip_dependencies": {"type": "boolean"},
    },
}
UNINSTALL_SCHEMA = {
    "type": "object",
    "properties": {"packs": _PACKS, "ref_or_id": {"type": "string"}},
}
CONTENT_TYPES = {
    "runner": "runners", "action": "actions", "trigger": "triggers", "sensor": "sensors",
    "rule": "rules", "rule_type": "rule_types", "alias": "aliases",
    "policy_type": "policy_types", "policy": "policies", "config": "configs",
}  # fmt: skip
REGISTER_SCHEMA = {
    "type": "object",
    "properties": {
        "packs": _PACKS,
        "types": {
            "type": "array",
            "items": {"enum": ["all", *CONTENT_TYPES, *CONTENT_TYPES.values()]},
        },
        "fail_on_failure": {"type": "boolean"},
    },
}


class _Refused(Exception):
    pass


# --- installing ------------------------------------------------------------------------------


def install(caller, body):
    """POST /packs/install: the finished packs.install execution."""
    access.require_admin(caller, "pack_install")
    check_body(body, INSTALL_SCHEMA)
    install_dir, roots = _configured()
    sources = [_local_source(item, roots, install_dir) for item in body["packs"]]
    installed, warnings = [], []
    for source, ref in sources:
        problems = _install_one(source, ref, install_dir)
        if problems is None:
            return _record(caller, "install", body, Execution.FAILED, {
                "error": f'Pack "{ref}" could not be registered; it is not installed.',
                "output": {"packs_list": installed, "warning_list": warnings},
            })  # fmt: skip
        installed.append(ref)
        warnings.extend(problems)
    result = {"output": {"packs_list": installed, "warning_list": warnings, "conflict_list": []}}
    return _record(caller, "install", body, Execution.SUCCEEDED, result)


def _configured():
    install_dir = settings.ST2_PACKS_INSTALL_DIR
    roots = [Path(root).resolve() for root in settings.ST2_PACK_INSTALL_ROOTS]
    if install_dir is None or not roots:
        raise InvalidInput(
            "packs: installing packs is not enabled on this server: an administrator sets "
            "ST2_PACKS_INSTALL_DIR and ST2_PACK_INSTALL_ROOTS (README, Installing packs)."
        )
    return Path(install_dir).resolve(), roots


def _local_source(item, roots, install_dir):
    """(the resolved source directory, the pack's ref) of a file:// source, or 400."""
    if not item.startswith("file://"):
        raise InvalidInput(
            f'packs: "{item}": this server does not reach the StackStorm Exchange or git '
            "repositories; install a pack from a local directory: file:///path/to/pack, "
            "under ST2_PACK_INSTALL_ROOTS."
        )
    parsed = urlparse(item)
    path = Path(unquote(parsed.path))
    if parsed.netloc not in ("", "localhost") or not path.is_absolute():
        raise InvalidInput(f'packs: "{item}": a file:// URL names an absolute local path.')
    try:
        source = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidInput(f'packs: "{item}": no such directory.') from None
    if not any(source.is_relative_to(root) for root in roots) or source.is_relative_to(install_dir):
        raise InvalidInput(
            f'packs: "{item}" is not under a directory packs may be installed from '
            "(ST2_PACK_INSTALL_ROOTS)."
        )
    if not source.is_dir():
        raise InvalidInput(f'packs: "{item}" is not a directory.')
    try:
        _check_tree(source)
        ref = _pack_ref(source)
    except _Refused as refusal:
        raise InvalidInput(f'packs: "{item}": {refusal}') from None
    _check_ref(ref, install_dir)
    return source, ref


def _check_tree(root):
    """Refuse a tree with a symlink leading out of it, a file that is not a regular file,
    or more than MAX_FILES files or MAX_BYTES."""
    count = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name not in SKIPPED_NAMES]
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            relative = path.relative_to(root)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                if not path.resolve().is_relative_to(root):
                    raise _Refused(f"{relative} is a symlink leading out of the pack.")
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise _Refused(f"{relative} is not a regular file.")
            elif stat.S_ISREG(mode):
                count, size = count + 1, size + path.lstat().st_size
        if count > MAX_FILES or size > MAX_BYTES:
            raise _Refused(f"more than {MAX_FILES} files or {MAX_BYTES} bytes.")


def _pack_ref(source):
    """The ref the pack loader will give the pack (its pack.yaml checked as the loader checks
    it, so a pack it would refuse is refused here, before anything is copied)."""
    metadata = source / "pack.yaml"
    if not metadata.is_file() or not metadata.resolve().is_relative_to(source):
        raise _Refused("not a pack: pack.yaml is missing.")
    try:
        data = pack_schemas.checked_pack(metadata, load_mapping(metadata))
        return pack_schemas.pack_ref(metadata, data, source.name)
    except RegistrationError as error:
        raise _Refused(f"pack.yaml: {error.located_reason}") from None


def _check_ref(ref, install_dir):
    if ref in access.SYSTEM_PACKS:
        raise InvalidInput(f'packs: "{ref}" is a system pack; it is not installed through the API.')
    path = Pack.objects.filter(ref=ref).values_list("path", flat=True).first()
    if path and not Path(path).is_relative_to(install_dir):
        raise InvalidInput(
            f'packs: a pack "{ref}" is registered from {path}, not installed through the API.'
        )


def _install_one(source, ref, install_dir):
    """Copy, check, put in place and register; the registration's problems, or None when the
    pack did not register (the previous version, if any, is back)."""
    target = install_dir / ref
    staging = Path(tempfile.mkdtemp(prefix=f".{ref}-", dir=install_dir))  # loaders skip .*
    try:
        copy = staging / "pack"
        try:
            shutil.copytree(
                source, copy, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED_NAMES),
                copy_function=_copy_regular_file,
            )  # fmt: skip
        except (shutil.Error, OSError) as error:  # a file the server cannot read, ...
            raise InvalidInput(f'packs: "{source}" could not be copied: {error}') from None
        try:
            _check_tree(copy)
        except _Refused as refusal:
            raise InvalidInput(f'packs: "{source}" changed while copied: {refusal}') from None
        previous = staging / "previous"
        try:
            if target.exists():
                target.rename(previous)
            copy.rename(target)
        except OSError as error:  # another install of the same pack at the same moment
            if previous.exists() and not target.exists():
                previous.rename(target)
            raise InvalidInput(f'packs: "{ref}" could not be put in place: {error}') from None
        report = packs.register_packs([target])
        if not Pack.objects.filter(ref=ref, path=str(target)).exists():
            shutil.rmtree(target)
            if previous.exists():
                previous.rename(target)
                packs.register_packs([target])
            return None
        return list(report.errors)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_regular_file(source, destination):
    if not stat.S_ISREG(os.lstat(source).st_mode):
        raise InvalidInput(f'packs: "{source}" is not a regular file.')
    return shutil.copy2(source, destination)


# --- removing --------------------------------------------------------------------------------


def uninstall(caller, body):
    """POST /packs/uninstall: the finished packs.uninstall execution."""
    access.require_admin(caller, "pack_uninstall")
    check_body(body, UNINSTALL_SCHEMA)
    refs = body.get("packs") or ([body["ref_or_id"]] if body.get("ref_or_id") else [])
    if not refs:
        raise InvalidInput("packs: name the packs to remove.")
    install_dir = settings.ST2_PACKS_INSTALL_DIR
    found = [_installed(caller, ref, install_dir) for ref in refs]
    for pack in found:
        unregister(pack.ref)
        shutil.rmtree(pack.path, ignore_errors=True)
    result = {"output": {"packs_list": [pack.ref for pack in found]}}
    return _record(caller, "uninstall", body, Execution.SUCCEEDED, result)


def _installed(caller, ref_or_id, install_dir):
    pack = access.find_pack(caller, ref_or_id)
    if pack.ref in access.SYSTEM_PACKS:
        raise InvalidInput(f'packs: "{pack.ref}" is a system pack; it cannot be removed.')
    if install_dir is None or not Path(pack.path or "/").is_relative_to(
        Path(install_dir).resolve()
    ):
        raise InvalidInput(
            f'packs: pack "{pack.ref}" was not installed through the API (it is registered '
            f"from {pack.path or 'no directory'}): remove it from its directory instead."
        )
    return pack


def unregister(ref):
    """Delete everything pack `ref` registered: its rules (their triggers released), then
    the rows of every kind that belong to it, then the pack."""
    with transaction.atomic():
        for rule in Rule.objects.filter(pack=ref):
            rule.delete()
            triggers.release_trigger(rule.trigger_ref)
        for model in apps.get_app_config("st2bridge").get_models():
            names = {field.name for field in model._meta.get_fields()}
            if "pack" in names and model is not Pack:
                model.objects.filter(pack=ref).delete()
        Pack.objects.filter(ref=ref).delete()


# --- registering -----------------------------------------------------------------------------


def register(caller, body):
    """POST /packs/register: register packs again from disk (all, or those named); the
    counts of what the packs registered, as StackStorm answers (of `types`, when given)."""
    access.require_admin(caller, "pack_register")
    check_body(body, REGISTER_SCHEMA)
    refs = body.get("packs") or []
    dirs = [_pack_dir(ref) for ref in refs] if refs else settings.ST2_PACKS_DIRS
    report = packs.register_packs(dirs, runner_type_files=[settings.ST2_RUNNER_TYPES_FILE])
    if report.errors and body.get("fail_on_failure", True):
        raise InvalidInput("Failed to register packs: " + "; ".join(report.errors))
    counts = _counts(refs or list(Pack.objects.values_list("ref", flat=True)))
    wanted = {CONTENT_TYPES.get(name, name) for name in body.get("types") or ["all"]}
    if "all" in wanted:
        return counts
    if "actions" in wanted:
        wanted.add("runners")  # StackStorm registers runners with actions
    return {name: count for name, count in counts.items() if name in wanted}


def _pack_dir(ref):
    """The directory of pack `ref`: where it is registered from, else one of the packs
    directories holding a pack of that ref."""
    path = Pack.objects.filter(ref=ref).values_list("path", flat=True).first()
    if path and Path(path).is_dir():
        return Path(path)
    for directory in settings.ST2_PACKS_DIRS:
        candidate = Path(directory) / ref
        if (candidate / "pack.yaml").is_file():
            return candidate
    searched = ", ".join(str(directory) for directory in settings.ST2_PACKS_DIRS)
    raise InvalidInput(f'Pack "{ref}" not found on disk: searched in {searched}')


def _counts(refs):
    """What packs `refs` hold now, by StackStorm's content names (each kind counted from its
    table when this server has one)."""
    models = {model.__name__: model for model in apps.get_app_config("st2bridge").get_models()}
    counted = {
        "actions": "Action", "triggers": "TriggerType", "sensors": "SensorType",
        "rules": "Rule", "aliases": "ActionAlias", "policies": "Policy", "configs": "Config",
    }  # fmt: skip
    counts = {"runners": RunnerType.objects.count()}
    for name, model_name in counted.items():
        model = models.get(model_name)
        field = "pack" if model is not None and _has_pack(model) else None
        counts[name] = model.objects.filter(**{f"{field}__in": refs}).count() if field else 0
    counts["rule_types"] = 2
    counts["policy_types"] = 3
    return counts


def _has_pack(model):
    return "pack" in {field.name for field in model._meta.get_fields()}


# --- the execution that records it ----------------------------------------------------------


def _record(caller, verb, parameters, status, result):
    """A finished execution of packs.<verb> by `caller`, and its stream events."""
    now = timezone.now()
    log = [{"status": step, "timestamp": isotime(now)}
           for step in (Execution.REQUESTED, Execution.RUNNING, status)]  # fmt: skip
    execution = Execution(
        action_ref=f"packs.{verb}",
        action=_action_snapshot(verb),
        runner=catalog.runner_type_to_api(RUNNER),
        parameters=parameters,
        user=caller.username,
        context={"user": caller.username, "pack": "packs"},
        status=status,
        result=result,
        log=log,
        start_timestamp=now,
        end_timestamp=now,
    )
    with transaction.atomic():
        execution.save(force_insert=True)
        executions.emit("st2.execution__create", execution)
        executions.emit("st2.execution__update", execution)
    lifecycle.emit_action_triggers([execution])
    return execution


RUNNER = RunnerType(
    id=fixed_id("runner_type:pack-manager"),
    name="pack-manager",
    description="Pack management within this server's web process (not a runner actions use).",
    enabled=True,
)


def _action_snapshot(verb):
    action = Action(
        id=fixed_id(f"action:packs.{verb}"),
        ref=f"packs.{verb}",
        pack="packs",
        name=verb,
        description=f"{verb.capitalize()} packs (POST /api/v1/packs/{verb}).",
        runner_type=RUNNER.name,
        parameters={"packs": {"type": "array", "items": {"type": "string"}, "required": True}},
    )
    return catalog.action_to_api(action)
