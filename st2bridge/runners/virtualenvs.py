"""Per-pack virtualenvs, as StackStorm's /opt/stackstorm/virtualenvs/<pack>: a pack that ships a
requirements.txt gets a virtualenv of its own in settings.ST2_VIRTUALENVS_DIR, built with pip
from StackStorm's base requirement (six) and that file, and its Python actions run on the
virtualenv's interpreter. A pack without requirements.txt runs on the action interpreter
(base_python) with nothing but the standard library and what is listed below.

The StackStorm Python API: st2bridge/runners/compat (st2common, on every action's path first)
and StackStorm's Python client, st2client, installed once in a shared virtualenv
(<dir>/.python-api) whose packages every action sees after its pack's own, as StackStorm's
actions see the packages of StackStorm's own virtualenv. So st2client-based actions (the
Exchange `st2` pack) call this server back with the execution's token.

Cached by content: a virtualenv records the hash of the requirements it was built from
(MARKER) and is built again only when they change; `manage.py setup_virtualenvs [pack ...]`
builds what is missing or out of date (or everything, with --force), and register_packs calls
it. A build goes into a new directory that replaces the old one only once pip succeeded, so a
failed build leaves the previous virtualenv in place; why it failed is kept beside it
(<dir>/.<pack>.failed) and named when an action of the pack is run. An action of a pack whose
virtualenv is missing or out of date fails at once, naming the command that fixes it.

The virtualenvs are made with the interpreter actions run on (one the action user can run)
and pip from the worker's own environment (`pip --python`), as the worker's user; their
files are world-readable (umask 022) so the action user can import them.
"""

import fcntl
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .base import RunRefused
from .process import ACTION_PATH

log = logging.getLogger(__name__)

REQUIREMENTS_FILE = "requirements.txt"
BASE_REQUIREMENTS = ("six>=1.9.0,<2.0",)  # StackStorm's BASE_PACK_REQUIREMENTS
PYTHON_API = ".python-api"  # not a pack ref: those are [a-z0-9_]+
PYTHON_API_REQUIREMENTS = ("st2client==3.9.0",)
MARKER = ".st2bridge-requirements"
PIP_TIMEOUT = 1800  # seconds for one pip install
ERROR_LINES = 4  # of pip's output, in a failure's message


class SetupFailed(Exception):
    """A virtualenv could not be built; the message names the requirement and the fix."""


def fix_command(name):
    return f"python manage.py setup_virtualenvs {name}".rstrip()


# --- the interpreter ------------------------------------------------------------------------


def base_python(account):
    """The interpreter for Python actions (and the base of pack virtualenvs): the worker's own
    when the account can run it, else the python3 on the actions' PATH (a virtualenv whose
    Python lives under /root cannot be run by another user)."""
    ours = Path(sys.executable)
    if account.can_run(ours) and account.can_enter(sys.base_prefix):
        return str(ours)
    system = shutil.which("python3", path=ACTION_PATH)
    if system and account.can_run(system):
        return system
    raise RunRefused(
        f'No Python interpreter that the action user "{account.name}" can run: it cannot '
        f"run {ours}, and there is no python3 on {ACTION_PATH}."
    )


# --- where and what -----------------------------------------------------------------------


def venv_dir(name):
    return Path(settings.ST2_VIRTUALENVS_DIR) / name


def requirements_file(pack_path):
    """The pack's requirements.txt, or None when it has none (no virtualenv then)."""
    if not pack_path:
        return None
    path = Path(pack_path) / REQUIREMENTS_FILE
    return path if path.is_file() else None


@dataclass
class Wanted:
    """What one virtualenv is built from: the base interpreter (`python`, resolved: another
    Python version is another virtualenv), `requirements` for pip's command line, and the
    pack's requirements.txt (`source`) when it has one."""

    name: str
    python: str
    requirements: tuple
    source: Path | None = None
    text: str = field(default="", repr=False)

    @property
    def digest(self):
        content = {"python": self.python, "requirements": self.requirements, "file": self.text}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def wanted_for(pack, pack_path, account):
    source = requirements_file(pack_path)
    if source is None:
        return None
    text = source.read_text(encoding="utf-8", errors="replace")
    return Wanted(pack, _resolved(base_python(account)), BASE_REQUIREMENTS, source, text)


def python_api_wanted(account):
    return Wanted(PYTHON_API, _resolved(base_python(account)), PYTHON_API_REQUIREMENTS)


def _resolved(python):
    return str(Path(python).resolve())


def built_digest(directory):
    try:
        return (Path(directory) / MARKER).read_text().strip()
    except OSError:
        return None


def is_current(wanted):
    return built_digest(venv_dir(wanted.name)) == wanted.digest


def site_packages(directory):
    found = sorted(Path(directory).glob("lib/python3*/site-packages"))
    return found[0] if found else None


def _failure_file(name):
    return Path(settings.ST2_VIRTUALENVS_DIR) / f".{name}.failed"


def last_failure(wanted):
    """Why the last build of exactly these requirements failed, or None."""
    try:
        recorded = json.loads(_failure_file(wanted.name).read_text())
    except (OSError, ValueError):
        return None
    return recorded.get("error") if recorded.get("digest") == wanted.digest else None


# --- at run time ----------------------------------------------------------------------------


@dataclass
class ActionPython:
    """The interpreter of one pack's Python actions and what goes on their path after its
    own packages (the StackStorm Python API)."""

    python: str
    paths: list


def action_python(pack, pack_path, account):
    """ActionPython for the actions of `pack`; RunRefused naming the command that fixes it
    when the pack needs a virtualenv that is missing, out of date or broken."""
    paths = python_api_paths(account)
    wanted = wanted_for(pack, pack_path, account)
    if wanted is None:
        return ActionPython(base_python(account), paths)
    directory = venv_dir(pack)
    built = built_digest(directory)
    if built != wanted.digest:
        state = "missing" if built is None else f"out of date with {wanted.source}"
        problem = f'The virtualenv of pack "{pack}" is {state}: run `{fix_command(pack)}`.'
        failure = last_failure(wanted)
        raise RunRefused(f"{problem} Its last setup failed: {failure}" if failure else problem)
    python = directory / "bin" / "python"
    if not python.exists() or not account.can_run(python):
        raise RunRefused(
            f'The virtualenv of pack "{pack}" ({directory}) has no interpreter the action user '
            f'"{account.name}" can run: run `{fix_command(pack)} --force`.'
        )
    return ActionPython(str(python), paths)


def python_api_paths(account):
    """The site-packages of the shared StackStorm Python API virtualenv, when it is built."""
    directory = venv_dir(PYTHON_API)
    if built_digest(directory) != python_api_wanted(account).digest:
        return []
    found = site_packages(directory)
    return [str(found)] if found else []


# --- building -----------------------------------------------------------------------------


@dataclass
class SetupResult:
    name: str
    status: str  # "built", "current", "none" (no requirements.txt), "failed"
    message: str = ""


def setup(wanted, account, *, force=False):
    """Build the virtualenv of `wanted` unless it is current (or `force`). A failed build is
    recorded and returned; SetupFailed only when ST2_VIRTUALENVS_DIR itself is unusable."""
    if not force and is_current(wanted):
        return SetupResult(wanted.name, "current")
    root = _virtualenvs_root(account)
    with _locked(root, wanted.name):
        if not force and is_current(wanted):  # another process built it meanwhile
            return SetupResult(wanted.name, "current")
        try:
            _build(root, wanted)
        except SetupFailed as error:
            _record_failure(wanted, str(error))
            log.warning("Virtualenv setup failed: %s", error)
            return SetupResult(wanted.name, "failed", str(error))
    _failure_file(wanted.name).unlink(missing_ok=True)
    log.info("Virtualenv of %s built in %s", wanted.name, venv_dir(wanted.name))
    return SetupResult(wanted.name, "built")


def setup_pack(pack, pack_path, account, *, force=False):
    """setup() of one pack's virtualenv; a pack without requirements.txt has none (an old
    one is removed)."""
    wanted = wanted_for(pack, pack_path, account)
    if wanted is None:
        stale = venv_dir(pack)
        if (stale / MARKER).exists():
            shutil.rmtree(stale, ignore_errors=True)
        return SetupResult(pack, "none")
    return setup(wanted, account, force=force)


def setup_packs(packs, account, *, force=False, only_changed=False):
    """setup_pack() of each (ref, path) of `packs`, and first the shared Python API virtualenv
    when any pack needs one. `only_changed`: packs whose virtualenv is current are not even
    looked at again (what registration asks). Returns the SetupResults."""
    wanted = [(ref, path) for ref, path in packs if requirements_file(path) is not None]
    if only_changed:
        wanted = [
            (ref, path) for ref, path in wanted if not is_current(wanted_for(ref, path, account))
        ]
    results = []
    python_api = python_api_wanted(account)
    if wanted and (force or not is_current(python_api)):
        results.append(setup(python_api, account, force=force))
    for ref, path in packs if not only_changed else wanted:
        results.append(setup_pack(ref, path, account, force=force))
    return results


def _virtualenvs_root(account):
    root = Path(settings.ST2_VIRTUALENVS_DIR)
    try:
        root.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as error:
        raise SetupFailed(f"Cannot create {root} (ST2_VIRTUALENVS_DIR): {error}") from None
    if not account.can_enter(root):
        raise SetupFailed(
            f'The action user "{account.name}" cannot enter {root} (ST2_VIRTUALENVS_DIR): '
            "choose a directory it can read, or make this one and those above it readable."
        )
    return root


@contextmanager
def _locked(root, name):
    """One build of a virtualenv at a time, across processes (register_packs of two
    starting servers)."""
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(root, wanted):
    building = Path(tempfile.mkdtemp(prefix=f".{wanted.name}.new-", dir=root))
    try:
        building.chmod(0o755)
        _run([wanted.python, "-m", "venv", "--without-pip", str(building)], wanted, "create it")
        command = [
            sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"),
            "install", "--no-input", "--disable-pip-version-check", *wanted.requirements,
        ]  # fmt: skip
        if wanted.source is not None:
            command += ["-r", str(wanted.source)]
        _run(command, wanted, "install its requirements")
        (building / MARKER).write_text(wanted.digest + "\n")
        _replace(root, building, venv_dir(wanted.name))
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _replace(root, new, target):
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=root))
        target.rename(old / "venv")
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _run(command, wanted, doing):
    try:
        done = subprocess.run(  # noqa: S603 - our own command line, no shell
            command,
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT,
            umask=0o022,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SetupFailed(_failure(wanted, doing, str(error))) from None
    if done.returncode != 0:
        raise SetupFailed(_failure(wanted, doing, _pip_errors(done.stderr or done.stdout)))


def _pip_errors(output):
    """pip's ERROR lines (the requirement it could not install and why), else its last
    lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:") or "error:" in line.lower()]
    return " ".join((errors or lines)[-ERROR_LINES:]) or "no output"


REQUIREMENT_IN_MESSAGE = re.compile(
    r"(?:for the requirement|distribution found for|Invalid requirement:|"
    r"Failed building wheel for|Failed to build)\s+'?([^\s'(]+)"
)


def _failure(wanted, doing, detail):
    source = wanted.source or " ".join(wanted.requirements)
    named = REQUIREMENT_IN_MESSAGE.search(detail)
    requirement = f' (requirement "{named.group(1)}")' if named else ""
    return (
        f"Could not {doing} for {wanted.name}{requirement} from {source}: {detail} "
        f"Fix it, then run `{fix_command(wanted.name if wanted.source else '')}`."
    )


def _record_failure(wanted, message):
    try:
        _failure_file(wanted.name).write_text(
            json.dumps({"digest": wanted.digest, "error": message})
        )
    except OSError as error:
        log.warning("Could not record the failed setup of %s: %s", wanted.name, error)
