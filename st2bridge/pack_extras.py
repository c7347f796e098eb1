"""The parts of a pack directory that st2bridge.packs hands over: aliases/*.yaml (action
aliases) and policies/*.yaml, registered as StackStorm's AliasesRegistrar and
PoliciesRegistrar do. A file that fails is reported and skipped, the others register; the
alias or policy it defined before, if any, is kept; those whose file is gone from disk are
deleted (rows made through the API, without a file, are not the loader's).

Files are read only when they resolve inside the pack directory (a symlink pointing elsewhere
is refused), as the pack loader reads its own."""

import json
from pathlib import Path

import yaml
from django.db import transaction

from . import aliases, policies
from .errors import St2Error
from .models import ActionAlias, Policy

FOLDERS = (
    ("aliases", ActionAlias, aliases.save_alias_from_disk),
    ("policies", Policy, policies.save_policy_from_disk),
)


class _Problem(Exception):
    pass


def register_extras(pack, pack_dir):
    """Register the aliases and policies of the pack `pack` in `pack_dir`; returns the
    problems found, one "path: problem" line each."""
    pack_dir = Path(pack_dir)
    root = pack_dir.resolve()
    problems = []
    for folder, model, save in FOLDERS:
        saved, failed = set(), set()
        for path in _metadata_files(pack_dir / folder, root, problems):
            relative = path.relative_to(pack_dir).as_posix()
            try:
                saved.add(_register(pack, path, relative, save).ref)
            except (_Problem, St2Error) as error:
                problems.append(f"{path}: {getattr(error, 'message', error)}")
                failed.add(relative)  # what it defined before is kept
        model.objects.filter(pack=pack).exclude(metadata_file="").exclude(ref__in=saved).exclude(
            metadata_file__in=failed
        ).delete()
    return problems


def _register(pack, path, relative, save):
    body = _mapping(path)
    declared = body.get("pack") or pack
    if declared != pack:
        raise _Problem(f'it is in pack "{pack}" but says pack "{declared}"')
    with transaction.atomic():
        return save(pack, {**body, "pack": pack}, relative)


def _metadata_files(directory, root, problems):
    if not directory.is_dir():
        return []
    found = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        if not path.resolve().is_relative_to(root):
            problems.append(f"{path}: refused: it resolves outside the pack directory")
        elif path.is_file():
            found.append(path)
    return found


def _mapping(path):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise _Problem(f"cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise _Problem("the top level must be a mapping")
    try:  # YAML dates and the like, as JSON columns hold them
        return json.loads(json.dumps(data, default=str, allow_nan=False))
    except ValueError as error:
        raise _Problem(f"cannot be stored as JSON: {error}") from None
