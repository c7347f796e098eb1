"""What the two local shell runners share: sudo, running an argv and StackStorm's result shape
{succeeded, failed, return_code, stdout, stderr, error?} (notes §4.7)."""

import json

from . import sandbox
from .base import CANCELED, FAILED, SUCCEEDED, TIMEOUT, RunRefused, RunResult
from .process import TIMEOUT_RETURN_CODE, action_env, checked_cwd, run_process

REFUSED_RETURN_CODE = -1
SHELL_RUNNER_PARAMETERS = frozenset(
    {"cmd", "cwd", "env", "kwarg_op", "sudo", "sudo_password", "timeout"}
)


def run_local(request, command):
    """Run `command(account)`, an argv for the account the run uses (it may refuse with
    RunRefused: a script that account cannot read), with the runner parameters cwd, env and
    sudo; StackStorm's result."""
    params = request.parameters
    try:
        sudo, password = sudo_prefix(params)
        account = run_as(sudo)
        argv = command(account)
        env = action_env(request, params.get("env"), account)
        cwd = checked_cwd(params.get("cwd"), account)
        outcome = run_process(
            sudo + argv, request, env=env, account=account, cwd=cwd, stdin_data=password
        )
    except RunRefused as refusal:
        return refused(str(refusal))
    return shell_result(outcome, request.timeout)


def run_as(sudo):
    """The action account (sandbox.py), except for a sudo run: sudo makes it root anyway, and
    it starts as the worker's user, as before, because the action user has no sudo rights."""
    return sandbox.worker_account() if sudo else sandbox.action_account()


def sudo_prefix(params):
    """(argv prefix, stdin bytes) for sudo. Refused unless settings.ST2_ALLOW_SUDO: sudo gives
    whoever may run core.local root on the worker host."""
    if not params.get("sudo"):
        return [], None
    from django.conf import settings  # read lazily: runners are imported before settings load

    if not getattr(settings, "ST2_ALLOW_SUDO", False):
        raise RunRefused("sudo is not allowed on this server (ST2_ALLOW_SUDO is off).")
    password = params.get("sudo_password")
    if password:
        # -S reads the password from stdin; an empty prompt keeps it out of stderr.
        return ["sudo", "-S", "-p", "", "-E", "--"], f"{password}\n".encode()
    # -n: fail at once instead of waiting for a password nobody will type.
    return ["sudo", "-n", "-E", "--"], None


def refused(message):
    result = _result(REFUSED_RETURN_CODE, "", "")
    result["error"] = message
    return RunResult(FAILED, result)


def shell_result(outcome, timeout):
    if outcome.timed_out:
        result = _result(TIMEOUT_RETURN_CODE, outcome.stdout, outcome.stderr)
        result["error"] = f"Action failed to complete in {timeout:g} seconds"
        return RunResult(TIMEOUT, result)
    result = _result(outcome.return_code, outcome.stdout, outcome.stderr)
    if outcome.canceled:
        result["error"] = "Action was canceled."
        return RunResult(CANCELED, result)
    return RunResult(SUCCEEDED if result["succeeded"] else FAILED, result)


def _result(return_code, stdout, stderr):
    succeeded = return_code == 0
    return {
        "failed": not succeeded,
        "succeeded": succeeded,
        "return_code": return_code,
        "stdout": _parsed(_strip_newline(stdout)),
        "stderr": _parsed(_strip_newline(stderr)),
    }


def _strip_newline(text):
    """One trailing newline goes, as StackStorm's strip_shell_chars; the rest is output."""
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def _parsed(text):
    """StackStorm replaces stdout/stderr that is valid JSON by its value (so `echo 5` gives 5
    and a JSON document an object). NaN and Infinity are not JSON, so they stay text."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return text


def _not_json(constant):
    raise ValueError(f"{constant} is not JSON")
