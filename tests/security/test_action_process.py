"""Action processes (issue 12, attack 1 and "the database files 0600"), written as the attacks.

- An `env` that makes bash or Python run a command (BASH_ENV, PYTHONWARNINGS with BROWSER) is
  refused by the runner too, for a record or an action's metadata default that reached the
  worker without passing the API's check: the command never runs, the execution fails naming
  the variable.
- An action cannot read the service's secret files or its database: they are 0600 in a 0700
  directory, and actions run as ST2_ACTION_USER when the worker runs as root. Where it does not
  (a developer's machine), the worker warns at startup instead.
- A fuzz of environment names: any name either is refused by environment.check_env, or
  reaches the action process unchanged while nothing else about how it starts changes.
"""

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from st2bridge.errors import InvalidInput
from st2bridge.models import Execution
from st2bridge.runners import RunRequest, get_runner, process, sandbox
from st2bridge.runners.environment import check_env, is_denied
from st2bridge.worker import Worker

from ..action_support import shared_tmp_dir
from ..catalog_support import register_bundled_packs
from ..worker_support import run_to_completion

ROOT = Path(__file__).resolve().parents[2]
BASH_ENV = {"BASH_ENV": "$(id >&2)"}
# Python imports the warning category's module at startup: antigravity opens a "browser",
# BROWSER names perlthanks, and PERL5OPT makes perl run `id`.
PYTHON_ENV = {
    "PYTHONWARNINGS": "all:0:antigravity.x:0:0",
    "BROWSER": "perlthanks",
    "PERL5OPT": "-Mbase;warn(`id`);exit;",
}
FUZZ = hypothesis_settings(
    deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture
def catalog(transactional_db):
    register_bundled_packs()


def requested(action_ref, parameters):
    """A `requested` execution of the action, written as the API would have written it."""
    from st2bridge import executions

    return executions.request_execution(action_ref, parameters, user="bob", staff=True)


def output(execution):
    result = execution.result or {}
    return f"{result.get('stdout', '')}\n{result.get('stderr', '')}"


# --- attack 1: an env that runs a command --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_recorded_bash_env_never_runs_its_command(catalog):
    """A record of demo.deploy carrying BASH_ENV (written before the API refused it)."""
    execution = requested("demo.deploy", {"environment": "staging", "version": "1.0.0"})
    Execution.objects.filter(pk=execution.pk).update(
        parameters={**execution.parameters, "env": BASH_ENV}
    )
    done = run_to_completion(execution.pk)
    assert "uid=" not in output(done)
    assert done.status == "failed"
    assert "BASH_ENV" in done.result["error"]


@pytest.mark.django_db(transaction=True)
def test_a_python_env_default_in_action_metadata_never_runs_its_command(catalog):
    """demo.greet whose metadata (the execution's snapshot) defaults `env` to the
    PYTHONWARNINGS/BROWSER chain: a default reaches the runner without any caller sending it."""
    execution = requested("demo.greet", {"name": "Ada"})
    parameters = {**execution.action["parameters"], "env": {"default": PYTHON_ENV}}
    Execution.objects.filter(pk=execution.pk).update(
        action={**execution.action, "parameters": parameters}
    )
    done = run_to_completion(execution.pk)
    assert "uid=" not in output(done)
    assert done.status == "failed"
    assert "PYTHONWARNINGS" in done.result["error"]


# --- the service's secrets -----------------------------------------------------------------


def make_data_dir(base):
    """A data directory as `make run` leaves it: `migrate` (secrets and database), then the
    next start (register_packs, serve) loads the settings again."""
    data = base / "var"
    env = {**os.environ, "PORTAL_DATA_DIR": str(data), "DATABASE_URL": ""}
    env.pop("SQLITE_PATH", None)
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("ST2_DATASTORE_KEY", None)
    for command in (["migrate", "--noinput"], ["check"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=120
        )
    return data


def run_cmd(cmd, env=None, timeout=10):
    action = {"ref": "core.local", "pack": "core", "name": "local"}
    parameters = {"cmd": cmd, **({"env": env} if env is not None else {})}
    request = RunRequest(
        execution_id="exec-1",
        action=action,
        pack_path=None,
        parameters=parameters,
        timeout=timeout,
        on_output=lambda output_type, text: None,
        cancel=threading.Event(),
    )
    return get_runner("local-shell-cmd").run(request)


def test_an_action_cannot_read_the_secret_key_the_datastore_key_or_the_database(caplog):
    if os.geteuid() != 0:  # actions run as the worker's user: it says so at startup
        worker_start_warning(caplog)
        return
    with shared_parent() as base:
        data = make_data_dir(base)
        database = data / "portal.sqlite3"
        reader = sqlite3.connect(database)  # WAL: -wal and -shm exist while it is open
        try:
            reader.execute("PRAGMA journal_mode=WAL").fetchone()
            reader.execute("CREATE TABLE IF NOT EXISTS canary (x)")
            reader.commit()
            assert oct(data.stat().st_mode & 0o777) == oct(0o700)
            files = ["secret_key", "datastore.key", "portal.sqlite3"]
            files += ["portal.sqlite3-wal", "portal.sqlite3-shm"]
            for name in files:
                assert oct((data / name).stat().st_mode & 0o777) == oct(0o600), name
                assert_unreadable_by_actions(data / name)
        finally:
            reader.close()


def assert_unreadable_by_actions(path):
    content = path.read_bytes()[:32].decode("utf-8", errors="replace")
    outcome = run_cmd(f"cat {path}")
    assert outcome.status == "failed", path
    assert "Permission denied" in str(outcome.result["stderr"]), outcome.result
    assert content not in str(outcome.result["stdout"])


class shared_parent:
    """A directory under /tmp that the action user may enter (as /work is): the data
    directory inside it must protect itself."""

    def __enter__(self):
        self.generator = shared_tmp_dir()
        return next(self.generator)

    def __exit__(self, *exc):
        self.generator.close()


def worker_start_warning(caplog):
    worker = Worker(concurrency=1)
    worker.stop()
    with caplog.at_level(logging.WARNING, logger="st2bridge.runners.sandbox"):
        worker.run()
    warnings = [r.getMessage() for r in caplog.records if r.name == "st2bridge.runners.sandbox"]
    assert len(warnings) == 1, warnings
    assert "the worker's own user" in warnings[0]
    assert "can read" in warnings[0]


@pytest.mark.django_db
def test_a_worker_not_running_as_root_warns_at_startup_that_actions_can_read_its_secrets(
    caplog, monkeypatch
):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 4242)
    worker_start_warning(caplog)


def test_actions_run_as_the_action_user_with_its_group_only(settings):
    outcome = run_cmd("id -u; id -G; echo $HOME")
    account = sandbox.action_account()
    if os.geteuid() == 0:
        assert account.name == settings.ST2_ACTION_USER
        assert account.uid != 0
    assert outcome.result["stdout"] == f"{account.uid}\n{account.gid}\n{account.home}"


def test_an_unreadable_pack_fails_naming_the_user_and_the_file():
    with shared_parent() as base:
        pack = base / "pack"
        (pack / "actions").mkdir(parents=True)
        script = pack / "actions" / "secret.sh"
        script.write_text("echo ran\n")
        script.chmod(0o000 if os.geteuid() != 0 else 0o700)
        action = {"ref": "mine.secret", "pack": "mine", "entry_point": "secret.sh"}
        request = RunRequest(
            execution_id="exec-1",
            action=action,
            pack_path=str(pack),
            parameters={},
            timeout=10,
            on_output=lambda output_type, text: None,
            cancel=threading.Event(),
        )
        outcome = get_runner("local-shell-script").run(request)
    account = sandbox.action_account()
    assert outcome.status == "failed"
    assert outcome.result["error"] == (
        f'The action user "{account.name}" cannot read the entry point "{script}": make it, '
        "and the directories above it, readable by that user."
    )


# --- a known environment -------------------------------------------------------------------


def action_process(env=None):
    """(id, working directory, environment) of a core.local process."""
    outcome = run_cmd('printf "%s\\0" "$(id)" "$(pwd)"; env -0', env=env)
    assert outcome.status == "succeeded", outcome.result
    identity, cwd, *variables = str(outcome.result["stdout"]).split("\0")
    assert variables[-1] == ""
    return identity, cwd, dict(entry.split("=", 1) for entry in variables[:-1])


def test_the_worker_environment_never_reaches_an_action(monkeypatch):
    monkeypatch.setenv("PATH", f"/opt/evil:{os.environ['PATH']}")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "worker-secret")
    monkeypatch.setenv("PYTHONPATH", "/opt/evil")
    _, _, env = action_process()
    account = sandbox.action_account()
    assert env == {
        "PATH": process.ACTION_PATH,
        "HOME": account.home,
        "LANG": "C.UTF-8",
        "ST2_ACTION_PACK_NAME": "core",
        "ST2_ACTION_EXECUTION_ID": "exec-1",
        # what bash itself sets
        "PWD": env["PWD"],
        "SHLVL": env["SHLVL"],
        "_": env["_"],
    }


def test_python_actions_run_isolated():
    with shared_parent() as base:
        actions = base / "pack" / "actions"
        actions.mkdir(parents=True)
        (actions / "probe.py").write_text(
            "import os, sys\n"
            "from st2common.runners.base_action import Action\n"
            "class Probe(Action):\n"
            "    def run(self):\n"
            "        return {'isolated': sys.flags.isolated, 'uid': os.getuid(),\n"
            "                'path': sys.path, 'cwd': os.getcwd()}\n"
        )
        action = {"ref": "pack.probe", "pack": "pack", "entry_point": "probe.py"}
        request = RunRequest(
            execution_id="exec-1",
            action=action,
            pack_path=str(base / "pack"),
            parameters={},
            timeout=10,
            on_output=lambda output_type, text: None,
            cancel=threading.Event(),
        )
        outcome = get_runner("python-script").run(request)
    assert outcome.status == "succeeded", outcome.result
    probe = outcome.result["result"]
    assert probe["isolated"] == 1
    assert probe["uid"] == sandbox.action_account().uid
    runners = str(ROOT / "st2bridge" / "runners")
    assert runners not in probe["path"] and "" not in probe["path"]
    assert probe["cwd"] not in probe["path"]


# --- fuzz: environment names ---------------------------------------------------------------

ANY_TEXT = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("=_\0")),
    min_size=0,
    max_size=16,
)
ACTION_REQUEST = RunRequest(
    execution_id="exec-1",
    action={"ref": "core.local", "pack": "core"},
    pack_path=None,
    parameters={},
    timeout=10,
    on_output=lambda output_type, text: None,
    cancel=threading.Event(),
)


def accepted(name, value="v"):
    try:
        check_env({name: value})
    except InvalidInput:
        return False
    return True


@FUZZ
@given(name=ANY_TEXT | st.sampled_from(sorted(os.environ)), value=ANY_TEXT)
def test_fuzz_any_name_is_refused_or_only_adds_itself_to_the_environment(name, value):
    """Pure: check_env refuses (InvalidInput, nothing else), or the runner's environment is
    the same as without it, plus exactly that variable."""
    account = sandbox.worker_account()
    try:
        check_env({name: value})
    except InvalidInput:
        return
    assert not is_denied(name)
    os.fsencode(name + value)  # the OS can take it
    base = process.action_env(ACTION_REQUEST, {}, account)
    assert process.action_env(ACTION_REQUEST, {name: value}, account) == {**base, name: value}


# Any text, and names the runner or bash set themselves, which must never be half-honoured.
NAME = st.text(st.characters(exclude_characters="=\0"), min_size=1, max_size=12) | st.sampled_from(
    ["PATH", "HOME", "LANG", "PWD", "SHLVL", "_", "ST2_ACTION_PACK_NAME", "BASH_ENV", "0", "é"]
)


@pytest.fixture(scope="module")
def baseline():
    return action_process()


@hypothesis_settings(FUZZ, max_examples=50)
@given(name=NAME, value=st.text(st.characters(exclude_characters="\0"), max_size=12))
def test_fuzz_an_accepted_name_reaches_the_process_unchanged_and_changes_nothing_else(
    baseline, name, value
):
    if not accepted(name, value):
        return
    identity, cwd, env = action_process({name: value})
    base_identity, base_cwd, base_env = baseline
    assert (identity, cwd) == (base_identity, base_cwd)
    assert env == {**base_env, name: value}


def test_bash_and_common_names_are_refused_or_reach_the_process_unchanged(baseline):
    """Names a real environment holds, and bash's own variables (PWD, SHLVL, RANDOM, ...):
    bash resets some of them, so those must be refused rather than silently changed."""
    bash = subprocess.run(
        [shutil.which("bash"), "-c", "compgen -v"], capture_output=True, text=True, env={}
    ).stdout.split()
    common = ["LANG", "LC_ALL", "TERM", "TZ", "USER", "LOGNAME", "SHELL", "MAIL", "http_proxy"]
    for name in sorted(set(bash) | set(os.environ) | set(common)):
        if accepted(name, "zz9 plural"):
            identity, cwd, env = action_process({name: "zz9 plural"})
            assert (identity, cwd) == baseline[:2], name
            assert env == {**baseline[2], name: "zz9 plural"}, name
