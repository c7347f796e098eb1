"""local-shell-cmd and local-shell-script with real processes: results as StackStorm's
(notes §4.7), environment, cwd, sudo policy, live and capped output, timeout and cancel of the
whole process tree, arguments that never pass through a shell, entry points kept in the pack."""

import os
import threading
import time
from pathlib import Path

import pytest
import yaml

from st2bridge.runners import RunRequest, get_runner, process
from tests.action_support import shared_tmp_dir

ROOT = Path(__file__).resolve().parent.parent
ARGS_SCRIPT = '#!/usr/bin/env bash\nfor arg in "$@"; do printf \'<%s>\\n\' "$arg"; done\n'


@pytest.fixture
def tmp_path():
    """Actions here read and write the test's files: a directory the action user can use."""
    yield from shared_tmp_dir()


class Output:
    """on_output of a run: the chunks in arrival order."""

    def __init__(self):
        self.chunks = []

    def __call__(self, output_type, text):
        self.chunks.append((output_type, text))

    def text(self, output_type):
        return "".join(text for kind, text in self.chunks if kind == output_type)


def request_for(action, parameters, *, pack_path=None, timeout=10, output=None, **extra):
    return RunRequest(
        execution_id="exec-1",
        action=action,
        pack_path=str(pack_path) if pack_path else None,
        parameters=parameters,
        timeout=timeout,
        on_output=output or Output(),
        cancel=threading.Event(),
        **extra,
    )


def run_cmd(cmd, *, timeout=10, output=None, **parameters):
    action = {"ref": "core.local", "pack": "core", "name": "local"}
    request = request_for(action, {"cmd": cmd, **parameters}, timeout=timeout, output=output)
    return get_runner("local-shell-cmd").run(request)


def process_gone(pid):
    """Not running any more: no such process, or a zombie waiting for its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(condition, seconds=3):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# --- local-shell-cmd: results -------------------------------------------------------------


def test_echo_succeeds_with_one_trailing_newline_stripped():
    outcome = run_cmd("echo hello; printf 'two\\n\\n' >&2")
    assert outcome.status == "succeeded"
    assert outcome.result == {
        "failed": False,
        "succeeded": True,
        "return_code": 0,
        "stdout": "hello",
        "stderr": "two\n",
    }


def test_non_zero_exit_fails_with_its_code_and_stderr():
    outcome = run_cmd("echo 'no such thing' >&2; exit 3")
    assert outcome.status == "failed"
    assert outcome.result["return_code"] == 3
    assert outcome.result["failed"] is True and outcome.result["succeeded"] is False
    assert outcome.result["stderr"] == "no such thing"


def test_json_output_is_parsed_as_stackstorm_does():
    outcome = run_cmd("""echo '{"hosts": ["a", "b"], "count": 2}'; echo 5 >&2""")
    assert outcome.result["stdout"] == {"hosts": ["a", "b"], "count": 2}
    assert outcome.result["stderr"] == 5


def test_invalid_utf8_is_replaced_not_fatal():
    outcome = run_cmd(r"printf 'caf\xe9'")
    assert outcome.status == "succeeded"
    assert outcome.result["stdout"] == "caf\ufffd"


def test_missing_cmd_fails_clearly():
    outcome = run_cmd("   ")
    assert outcome.status == "failed"
    assert outcome.result["error"] == "cmd is required: the command line to run."


# --- environment and working directory ----------------------------------------------------


def test_env_parameter_and_st2_variables_reach_the_command(monkeypatch):
    monkeypatch.setenv("WORKER_SECRET", "must-not-leak")
    outcome = run_cmd(
        'echo "$GREETING|$COUNT|${WORKER_SECRET:-absent}|$ST2_ACTION_EXECUTION_ID|'
        '$ST2_ACTION_PACK_NAME"',
        env={"GREETING": "hi there", "COUNT": 3},
    )
    assert outcome.result["stdout"] == "hi there|3|absent|exec-1|core"


@pytest.mark.parametrize(
    "env, message",
    [
        ({1: "x"}, "env: 1 is not a valid environment variable name."),
        ({"A=B": "x"}, "env: 'A=B' is not a valid environment variable name."),
        ({"NESTED": {"a": 1}}, 'env: the value of "NESTED" must be a string or a number.'),
        (["A=1"], "env: must be a mapping of variable names to values."),
    ],
)
def test_bad_env_fails_without_running(tmp_path, env, message):
    marker = tmp_path / "ran"
    outcome = run_cmd(f"touch {marker}", env=env)
    assert outcome.status == "failed"
    assert outcome.result["error"] == message
    assert not marker.exists()


def test_cwd_is_used_and_must_exist(tmp_path):
    assert run_cmd("pwd", cwd=str(tmp_path)).result["stdout"] == str(tmp_path)
    missing = run_cmd("pwd", cwd=str(tmp_path / "nope"))
    assert missing.status == "failed"
    assert missing.result["error"] == f'Working directory "{tmp_path / "nope"}" does not exist.'


# --- sudo ---------------------------------------------------------------------------------


def test_sudo_is_refused_unless_enabled(settings, tmp_path):
    settings.ST2_ALLOW_SUDO = False
    marker = tmp_path / "ran"
    outcome = run_cmd(f"touch {marker}", sudo=True)
    assert outcome.status == "failed"
    assert outcome.result["error"] == "sudo is not allowed on this server (ST2_ALLOW_SUDO is off)."
    assert outcome.result["return_code"] == -1
    assert not marker.exists()


def test_sudo_when_enabled_runs_the_command_through_sudo(settings, tmp_path, monkeypatch):
    settings.ST2_ALLOW_SUDO = True
    fake_sudo = tmp_path / "sudo"  # records its options, then runs what follows "--"
    fake_sudo.write_text(
        '#!/bin/sh\nwhile [ "$1" != "--" ]; do echo "sudo option $1" >&2; shift; done\n'
        'shift\nexec "$@"\n'
    )
    fake_sudo.chmod(0o755)
    # Actions have a fixed PATH, not the worker's: the fake sudo goes first on that one.
    monkeypatch.setattr(process, "ACTION_PATH", f"{tmp_path}:{process.ACTION_PATH}")
    outcome = run_cmd("echo as root; id -u >&2", sudo=True)
    assert outcome.status == "succeeded"
    assert outcome.result["stdout"] == "as root"
    # A sudo run starts as the worker's own user: the action user has no sudo rights.
    assert outcome.result["stderr"] == f"sudo option -n\nsudo option -E\n{os.geteuid()}"


# --- live output, truncation --------------------------------------------------------------


def test_output_is_delivered_while_the_process_runs(tmp_path):
    """The command waits for a file that only on_output creates, on seeing the first line:
    without live delivery it could never finish."""
    flag = tmp_path / "seen"

    def on_output(output_type, text):
        if "first" in text:
            flag.touch()

    cmd = f"echo first; while [ ! -e {flag} ]; do sleep 0.02; done; echo second"
    outcome = run_cmd(cmd, timeout=5, output=on_output)
    assert outcome.status == "succeeded"
    assert outcome.result["stdout"] == "first\nsecond"


def test_output_beyond_the_limit_is_cut_with_a_marker():
    output = Output()
    action = {"ref": "core.local", "pack": "core"}
    cmd = "head -c 100000 /dev/zero | tr '\\0' x; echo done >&2"
    request = request_for(action, {"cmd": cmd}, output=output, max_output_bytes=100)
    outcome = get_runner("local-shell-cmd").run(request)
    assert outcome.status == "succeeded"  # the rest was drained: the writer never blocked
    marker = "\n[output truncated after 100 bytes]"
    assert outcome.result["stdout"] == "x" * 100 + marker
    assert output.text("stdout") == "x" * 100 + marker + "\n"
    assert outcome.result["stderr"] == "done"


# --- timeout and cancel -------------------------------------------------------------------


def test_timeout_kills_the_whole_process_tree(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    outcome = run_cmd(f"sleep 30 & echo $! > {pid_file}; echo waiting; wait", timeout=0.5)
    assert time.monotonic() - started < 3
    assert outcome.status == "timeout"
    assert outcome.result["return_code"] == -9
    assert outcome.result["error"] == "Action failed to complete in 0.5 seconds"
    assert outcome.result["stdout"] == "waiting"
    assert wait_until(lambda: process_gone(int(pid_file.read_text())))


def test_processes_ignoring_sigterm_get_sigkill(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "KILL_GRACE_SECONDS", 0.2)
    pid_file = tmp_path / "pid"
    outcome = run_cmd(f"trap '' TERM; sleep 30 & echo $! > {pid_file}; wait", timeout=0.3)
    assert outcome.status == "timeout"
    assert wait_until(lambda: process_gone(int(pid_file.read_text())))


def test_cancel_from_another_thread_kills_the_tree(tmp_path):
    pid_file = tmp_path / "pid"
    output = Output()
    action = {"ref": "core.local", "pack": "core"}
    cmd = f"sleep 30 & echo $! > {pid_file}; echo started; wait"
    request = request_for(action, {"cmd": cmd}, timeout=30, output=output)
    results = []
    runner = get_runner("local-shell-cmd")
    worker = threading.Thread(target=lambda: results.append(runner.run(request)))
    worker.start()
    assert wait_until(lambda: "started" in output.text("stdout"))
    request.cancel.set()
    worker.join(5)
    assert not worker.is_alive()
    assert results[0].status == "canceled"
    assert results[0].result["stdout"] == "started"
    assert wait_until(lambda: process_gone(int(pid_file.read_text())))


# --- local-shell-script -------------------------------------------------------------------


def make_pack(tmp_path, script_text=ARGS_SCRIPT, name="args.sh", executable=True):
    actions = tmp_path / "pack" / "actions"
    actions.mkdir(parents=True)
    script = actions / name
    script.write_text(script_text)
    script.chmod(0o755 if executable else 0o644)
    return tmp_path / "pack"


def run_script(pack_path, parameters, *, entry_point="args.sh", specs=None, timeout=10):
    action = {
        "ref": "mine.args",
        "pack": "mine",
        "name": "args",
        "entry_point": entry_point,
        "parameters": specs or {},
    }
    request = request_for(action, parameters, pack_path=pack_path, timeout=timeout)
    return get_runner("local-shell-script").run(request)


def test_demo_deploy_gets_keyword_then_positional_arguments():
    meta = yaml.safe_load((ROOT / "packs/demo/actions/deploy.yaml").read_text())
    parameters = {
        "environment": "staging",
        "version": "1.4.2",
        "replicas": 3,
        "services": ["api", "web"],
        "options": {},
        "api_token": "s3cret",
        "dry_run": True,
        # runner parameters: they configure the run and are never arguments
        "kwarg_op": "--",
        "sudo": False,
        "timeout": 120,
    }
    action = {**meta, "ref": "demo.deploy"}
    request = request_for(action, parameters, pack_path=ROOT / "packs/demo")
    outcome = get_runner("local-shell-script").run(request)
    assert outcome.status == "succeeded", outcome.result
    assert outcome.result["stdout"] == (
        "Keyword arguments:\n"
        "  replicas = 3\n"
        "  services = ['api', 'web']\n"
        "  options = {}\n"
        "  api_token = ********\n"
        "  dry_run (flag)\n"
        "Positional arguments:\n"
        "  [0] staging\n"
        "  [1] 1.4.2\n"
        "Dry run: would deploy version 1.4.2 to staging."
    )


def test_arguments_follow_stackstorm_serialisation(tmp_path):
    specs = {
        "first": {"type": "string", "position": 0},
        "flag": {"type": "boolean", "position": 1},
        "items": {"type": "array", "position": 2},
        "mapping": {"type": "object", "position": 3},
        "absent": {"type": "string", "position": 4},
        "count": {"type": "integer", "position": 5},
    }
    parameters = {
        "first": "a b",
        "flag": False,
        "items": ["x", 2],
        "mapping": {"k": "v"},
        "count": 0,
        "name": "value with spaces",
        "yes": True,
        "no": False,
        "nothing": None,
        "empty": "",
        "number": 1.5,
        "timeout": 10,
    }
    outcome = run_script(make_pack(tmp_path), parameters, specs=specs)
    assert outcome.result["stdout"].splitlines() == [
        "<--name=value with spaces>",
        "<--yes>",
        "<--number=1.5>",
        "<a b>",
        "<0>",
        "<x,2>",
        '<{"k": "v"}>',
        "<>",
        "<0>",
    ]


def test_kwarg_op_is_the_keyword_prefix(tmp_path):
    outcome = run_script(make_pack(tmp_path), {"name": "v", "on": True, "kwarg_op": "-"})
    assert outcome.result["stdout"].splitlines() == ["<-name=v>", "<-on>"]


def test_shell_metacharacters_in_parameters_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    hostile = [f"$(touch {marker})", f"; touch {marker}", f"`touch {marker}`", f"| touch {marker}"]
    parameters = {"p0": hostile[0], "p1": hostile[1], "named": hostile[2], "other": hostile[3]}
    specs = {"p0": {"type": "string", "position": 0}, "p1": {"type": "string", "position": 1}}
    outcome = run_script(make_pack(tmp_path), parameters, specs=specs)
    assert outcome.status == "succeeded"
    assert outcome.result["stdout"].splitlines() == [
        f"<--named={hostile[2]}>",
        f"<--other={hostile[3]}>",
        f"<{hostile[0]}>",
        f"<{hostile[1]}>",
    ]
    assert not marker.exists()


@pytest.mark.parametrize(
    "entry_point, message",
    [
        ("../../etc/passwd", 'Entry point "../../etc/passwd" is outside the pack.'),
        ("/etc/passwd", 'Entry point "/etc/passwd" must be relative to the pack.'),
        ("escape.sh", 'Entry point "escape.sh" is outside the pack.'),
        ("missing.sh", 'Entry point "missing.sh" does not exist in the pack.'),
        ("", 'Action "mine.args" has no entry point.'),
    ],
)
def test_entry_points_outside_the_pack_are_refused(tmp_path, entry_point, message):
    pack = make_pack(tmp_path)
    (pack / "actions" / "escape.sh").symlink_to("/bin/true")
    outcome = run_script(pack, {}, entry_point=entry_point)
    assert outcome.status == "failed"
    assert outcome.result["error"] == message


def test_entry_point_may_live_elsewhere_in_the_pack(tmp_path):
    pack = make_pack(tmp_path)
    (pack / "scripts").mkdir()
    (pack / "scripts" / "hi.sh").write_text("echo from scripts\n")
    outcome = run_script(pack, {}, entry_point="../scripts/hi.sh")
    assert outcome.result["stdout"] == "from scripts"


def test_non_executable_scripts_run_with_their_shebang_or_bash(tmp_path):
    python_script = "#!/usr/bin/env python3\nimport sys\nprint('python', sys.argv[1:])\n"
    pack = make_pack(tmp_path, python_script, name="tool.py", executable=False)
    (pack / "actions" / "plain.sh").write_text('echo "bash $BASH_VERSION" | cut -c1-4\n')
    assert run_script(pack, {"a": 1}, entry_point="tool.py").result["stdout"] == (
        "python ['--a=1']"
    )
    assert run_script(pack, {}, entry_point="plain.sh").result["stdout"] == "bash"


def test_script_timeout(tmp_path):
    pack = make_pack(tmp_path, "#!/bin/sh\necho begun\nsleep 30\n")
    outcome = run_script(pack, {}, timeout=0.3)
    assert outcome.status == "timeout"
    assert outcome.result["return_code"] == -9
    assert outcome.result["stdout"] == "begun"
