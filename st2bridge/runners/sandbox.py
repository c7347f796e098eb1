"""Who action processes run as, and what they cannot read (issue 12, docs/SECURITY.md).

Where the worker runs as root, every action process runs as the unprivileged system user
settings.ST2_ACTION_USER ("stanley", StackStorm's name), with its primary group only. The user
is created if missing (`useradd --system`, no login shell), with the home directory
/var/lib/<user>, 0700, owned by it; a user that already exists keeps the home its passwd entry
names. The service's data directory is 0700 and its files 0600 (portal/settings.py and
protect_database() below), so an action cannot read the Django secret key, the datastore key
or the database.

Where the worker does not run as root it cannot switch users: actions run as the worker's own
user and can read what it can. announce() says so once, at worker startup.

Access checks here read mode bits (owner, else the account's one group, else others), as the
kernel does for a process with no supplementary groups; ACLs are not read.
"""

import grp
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .base import RunRefused

log = logging.getLogger(__name__)

ACTION_HOMES = Path("/var/lib")  # a created action user's home: /var/lib/<user>
ADMIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"  # where useradd is
NO_LOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")  # SQLite's database and its side files

_accounts = {}  # user name -> ActionAccount, once created or found
_accounts_lock = threading.Lock()  # runner threads resolve the account concurrently


@dataclass(frozen=True)
class ActionAccount:
    """The OS identity an action process runs as."""

    name: str
    uid: int
    gid: int
    home: str
    switched: bool  # True: processes start as this user (the worker runs as root)

    def popen_arguments(self):
        """subprocess.Popen arguments that start a process as this account. extra_groups=[]
        drops the worker's supplementary groups, which would otherwise be inherited."""
        if not self.switched:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def can_read(self, path):
        return self._may(path, os.R_OK)

    def can_run(self, path):
        return self._may(path, os.R_OK | os.X_OK)

    def can_enter(self, path):
        return self._may(path, os.X_OK)

    def _may(self, path, wanted):
        """Whether a process of this account could open `path` for `wanted`: every directory
        above it searchable, and the wanted bits on the path itself."""
        if not self.switched:
            return os.access(path, wanted)  # the worker's own user: the kernel answers
        try:
            resolved = Path(path).resolve(strict=True)
        except OSError:
            return False
        return all(self._granted(parent, os.X_OK) for parent in resolved.parents) and (
            self._granted(resolved, wanted)
        )

    def _granted(self, path, wanted):
        info = path.stat()
        if info.st_uid == self.uid:
            shift = 6
        elif info.st_gid == self.gid:
            shift = 3
        else:
            shift = 0
        bits = (info.st_mode >> shift) & 0o7
        return bits & wanted == wanted


def action_account():
    """The account action processes run as: ST2_ACTION_USER when the worker runs as root
    (created on first use), else the worker's own user."""
    if os.geteuid() != 0:
        return worker_account()
    name = settings.ST2_ACTION_USER
    with _accounts_lock:
        if name not in _accounts:
            _accounts[name] = _system_account(name)
        return _accounts[name]


def worker_account():
    """The worker's own user, as an account that is never switched to. A uid without a passwd
    entry (some containers) gets the temporary directory as its home."""
    uid = os.geteuid()
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return ActionAccount(str(uid), uid, os.getegid(), tempfile.gettempdir(), switched=False)
    return ActionAccount(entry.pw_name, uid, os.getegid(), entry.pw_dir, switched=False)


def _system_account(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _create_user(name)
    if entry.pw_uid == 0:
        raise RunRefused(
            f'ST2_ACTION_USER "{name}" is root: actions must run as an unprivileged user.'
        )
    _ensure_home(entry)
    return ActionAccount(name, entry.pw_uid, entry.pw_gid, entry.pw_dir, switched=True)


def _create_user(name):
    """useradd --system, no login shell, home /var/lib/<name> (created by _ensure_home). Two
    workers starting at once may both try: the loser finds the winner's user."""
    useradd = shutil.which("useradd", path=ADMIN_PATH)
    if useradd is None:
        raise RunRefused(
            f'The action user "{name}" (ST2_ACTION_USER) does not exist and useradd is not '
            "installed: create it, as a system user without a login shell."
        )
    group = ["--gid", name] if _group_exists(name) else ["--user-group"]
    command = [useradd, "--system", "--no-create-home", "--home-dir", str(ACTION_HOMES / name)]
    command += ["--shell", _no_login_shell(), *group, name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise RunRefused(
            f'Could not create the action user "{name}" (ST2_ACTION_USER): '
            f"{done.stderr.strip() or f'useradd exited with {done.returncode}'}."
        ) from None
    if done.returncode == 0:
        log.warning("Created the system user %s (uid %s) to run actions as", name, entry.pw_uid)
    return entry


def _group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _no_login_shell():
    return next((shell for shell in NO_LOGIN_SHELLS if Path(shell).exists()), "/bin/false")


def _ensure_home(entry):
    """The home of a user created here, /var/lib/<name>, made if missing: 0700, its own. Any
    other home is the administrator's to manage and is used as passwd names it."""
    home = Path(entry.pw_dir)
    if home != ACTION_HOMES / entry.pw_name or home.is_dir():
        return
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)


def require_readable(account, path, what):
    """RunRefused naming the user when it cannot read `path`, instead of a run that fails
    later with a bare "Permission denied" from deep inside the process."""
    if not account.can_read(path):
        raise RunRefused(
            f'The action user "{account.name}" cannot read {what} "{path}": make it, and the '
            "directories above it, readable by that user."
        )


def announce():
    """Says once, at worker startup, who actions run as. Not root: a warning, since actions
    can then read the service's secrets. Root: the user is created now, so that a problem
    with it shows at startup rather than at the first action."""
    account = action_account()
    if not account.switched:
        log.warning(
            "Actions run as %s, the worker's own user: they can read what the worker can, "
            "including %s (the secret key, the datastore key and the SQLite database). Run the "
            'worker as root to run them as the unprivileged user "%s" (ST2_ACTION_USER).',
            account.name,
            settings.DATA_DIR,
            settings.ST2_ACTION_USER,
        )
        return account
    log.info("Actions run as %s (uid %s, home %s)", account.name, account.uid, account.home)
    if account.can_read(settings.DATA_DIR):
        log.warning(
            "The action user %s can read %s: make it 0700 and owned by the worker's user.",
            account.name,
            settings.DATA_DIR,
        )
    return account


def protect_database():
    """The SQLite database and its -wal/-shm 0600 when this user owns them. SQLite creates the
    database 0644 and its side files with the database's own mode. Called at worker and server
    startup, after `migrate` has created the file."""
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if not database["ENGINE"].endswith("sqlite3") or name in ("", ":memory:"):
        return
    if name.startswith("file:"):  # a URI names an in-memory or shared database
        return
    for suffix in DATABASE_SUFFIXES:
        make_private(Path(name + suffix), 0o600)


def make_private(path, mode):
    """chmod `path` to `mode` when it exists, is ours and is looser; another owner's file is
    left as it is (we could not change it, and its owner decides)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)
