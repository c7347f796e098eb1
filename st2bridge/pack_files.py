"""Reading pack directories from disk: YAML metadata, the files a pack holds, and the hash that
tells the loader (st2bridge.packs) whether a pack changed since it was last registered. No
database here.

YAML is parsed with libyaml's C loader when PyYAML has it (`yaml.CSafeLoader`, about ten
times faster than the pure-Python SafeLoader on pack metadata); the C loader words syntax
errors differently, so a file it refuses is parsed again with the pure-Python loader, whose
message (the one StackStorm's `yaml.safe_load` gives) is reported.

Path safety: files are read only when they resolve inside the pack directory, so a symlink
pointing elsewhere is refused. The pack directory itself may be a symlink (a checkout kept
elsewhere): its target is the pack.
"""

import hashlib
import json
import os
from pathlib import Path

import yaml

# Which files of a folder are metadata, as StackStorm's registrars glob them.
METADATA_SUFFIXES = (".json", ".yaml", ".yml")
SKIPPED_NAMES = {".git", "__pycache__"}
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RegistrationError(Exception):
    """A file that cannot be registered: `path` (absolute), `reason`, and for a YAML syntax
    error its `line` and `column`. str() is `path[:line:column]: reason`."""

    def __init__(self, path, reason, line=None, column=None):
        self.path = str(path)
        self.reason = reason
        self.line, self.column = line, column
        where = self.path if line is None else f"{self.path}:{line}:{column}"
        super().__init__(f"{where}: {reason}")

    @property
    def located_reason(self):
        """The reason with its line and column, for a listing that names the file apart."""
        if self.line is None:
            return self.reason
        return f"line {self.line}, column {self.column}: {self.reason}"


# --- YAML ----------------------------------------------------------------------------------


def load_yaml(path):
    """The document in `path`, JSON-safe; RegistrationError names the file (and line). Parsed
    with YAML_LOADER (bench/packs.py sets the pure-Python one for its baseline)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RegistrationError(path, f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise RegistrationError(path, error.strerror) from None
    try:
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506  # nosec B506: a safe loader
    except yaml.YAMLError as error:
        raise _yaml_error(path, text, error) from None
    return json_safe(path, data)


def _yaml_error(path, text, error):
    """StackStorm's wording (the pure-Python loader's) for a document the C loader refused."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506  # nosec B506: a safe loader
    except yaml.YAMLError as pure:
        error = pure
    if not isinstance(error, yaml.MarkedYAMLError):
        return RegistrationError(path, str(error))
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if mark is None:
        return RegistrationError(path, problem)
    return RegistrationError(path, problem, mark.line + 1, mark.column + 1)


def json_safe(path, data):
    """YAML has dates and NaN, JSON columns do not; dates become their ISO text, as
    StackStorm's API shows them, and anything else unstorable is refused by name."""
    try:
        return json.loads(json.dumps(data, default=str, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise RegistrationError(path, f"cannot be stored as JSON: {error}") from None


def load_mapping(path):
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RegistrationError(path, f"the top level must be a mapping, not {kind(data)}")
    return data


def kind(data):
    return "an empty document" if data is None else f"a {type(data).__name__}"


# --- where files are -----------------------------------------------------------------------


def inside(path, root):
    """Whether `path`, symlinks followed, is within `root` (an already resolved directory)."""
    return Path(path).resolve().is_relative_to(root)


def inside_below(root, *parts):
    """Whether root/parts..., symlinks followed, is within `root` (already resolved; the
    parts without '..'). Only a symlink among the parts can lead out: each is looked at
    (lstat), and the path is resolved only when one is a link, cheaper than resolving always."""
    path = str(root)
    for part in parts:
        path = os.path.join(path, part)
        if os.path.islink(path):
            return inside(os.path.join(root, *parts), root)
    return True


def confined(path, root):
    if not inside(path, root):
        raise RegistrationError(path, "refused: it resolves outside the pack directory")
    return path


def find_pack_dirs(directory):
    """`directory` itself when it is a pack (has pack.yaml), else its sub-directories."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistrationError(directory, "packs directory not found")
    if (directory / "pack.yaml").exists():
        return [directory]
    return sorted(
        child
        for child in directory.iterdir()
        if child.is_dir() and child.name not in SKIPPED_NAMES and not child.name.startswith(".")
    )


def metadata_files(pack_dir, root, folder):
    """The metadata files directly in `folder` of the pack (sorted, as StackStorm globs
    *.json, *.yaml and *.yml), without actions/config.* (StackStorm's global actions config),
    and apart (`refused`) those that resolve outside the pack: ([paths], [refused paths])."""
    directory = pack_dir / folder
    if not directory.is_dir():
        return [], []
    confined(directory, root)
    found, refused = [], []
    for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
        path = directory / entry.name
        if path.suffix not in METADATA_SUFFIXES or entry.is_dir():
            continue
        if folder == "actions" and path.stem == "config":
            continue
        (refused if entry.is_symlink() and not inside(path, root) else found).append(path)
    return found, refused


def scan(root, *salt):
    """(digest, files) of the pack in `root` (resolved): `files` are the relative paths of
    its files (what Pack.files keeps, see _walk); `digest` hashes every one of them (name and
    bytes), where the pack is, and `salt` (what else registration depends on: the loader's
    version, the runner types). Equal digests mean registering again would change nothing."""
    digest = hashlib.blake2b(digest_size=32)
    for part in (str(root), *salt):
        digest.update(f"{part}\0".encode())
    files = _walk(str(root))
    for relative in files:
        digest.update(f"{relative}\0".encode())
        try:
            with open(os.path.join(root, relative), "rb") as handle:
                digest.update(hashlib.blake2b(handle.read(), digest_size=32).digest())
        except OSError as error:  # unreadable now: a change, reported when registered
            digest.update(f"unreadable: {error.strerror}".encode())
    return digest.hexdigest(), files


def _walk(root):
    """Relative paths of the pack's files, sorted; no .git, __pycache__, *.pyc, nor
    symlinks that lead outside the pack. os.walk does not enter symlinked directories, so
    only a symlinked file can lead out."""
    files = []
    prefix = len(root) + 1
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name not in SKIPPED_NAMES]
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path) and not inside(path, root):
                continue
            files.append(path[prefix:].replace(os.sep, "/"))
    return sorted(files)
