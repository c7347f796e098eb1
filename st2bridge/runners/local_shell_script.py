"""local-shell-script: runs the pack's entry point script with the action's parameters as
arguments, the way StackStorm builds them (st2common action_db.get_args and
ShellScriptAction), but as an argv list: no value ever passes through a shell.

    script --name=value --flag ... positional0 positional1 ...

- Parameters with a `position` are positional, in position order, after the keyword ones.
  As StackStorm serialises them: booleans "1"/"0", arrays comma-joined, objects JSON, a missing
  value "" (so later positions keep their place), anything else str() (0 stays "0", where
  StackStorm would pass "").
- The others are keyword arguments `<kwarg_op><name>=<value>` (kwarg_op "--" by default): a
  true boolean is a bare `--name`, false, null and "" are left out, and other values are
  str() as StackStorm does (so a list arrives as Python's ['a', 'b']).
- Runner parameters (cwd, env, sudo, timeout, kwarg_op, ...) configure the run and are never
  arguments.
"""

import json

from . import sandbox
from .base import Runner, RunRefused, entry_point_path
from .shell import SHELL_RUNNER_PARAMETERS, refused, run_local

SCRIPT_RUNNER_PARAMETERS = SHELL_RUNNER_PARAMETERS - {"cmd"} | {"debug", "content_version"}


class LocalShellScriptRunner(Runner):
    name = "local-shell-script"
    runner_parameters = SCRIPT_RUNNER_PARAMETERS
    action_api = True

    def run(self, request):
        try:
            script = entry_point_path(request)
        except RunRefused as refusal:
            return refused(str(refusal))
        kwarg_op = request.parameters.get("kwarg_op") or "--"
        arguments = script_arguments(request.action, self.action_parameters(request), kwarg_op)
        return run_local(request, lambda account: script_command(script, account) + arguments)


def script_arguments(action, values, kwarg_op):
    positions = positional_names(action)
    named = [
        argument
        for name, value in values.items()
        if name not in positions and (argument := keyword_argument(kwarg_op, name, value))
    ]
    positional = [positional_value(action, name, values.get(name)) for name in positions]
    return named + positional


def positional_names(action):
    """Names of the action's positional parameters, in position order; one without a value
    still takes its place."""
    specs = action.get("parameters") or {}
    positioned = [
        (spec["position"], name)
        for name, spec in specs.items()
        if isinstance(spec, dict)
        and spec.get("position") is not None
        and name not in SCRIPT_RUNNER_PARAMETERS
    ]
    return [name for _, name in sorted(positioned)]


def keyword_argument(kwarg_op, name, value):
    if value is None or value == "" or value is False:
        return None
    if value is True:
        return f"{kwarg_op}{name}"
    return f"{kwarg_op}{name}={value}"


def positional_value(action, name, value):
    kind = ((action.get("parameters") or {}).get(name) or {}).get("type")
    if value is None:
        return ""
    if kind == "boolean":
        return "1" if value else "0"
    if kind == "array":
        return ",".join(map(str, value))
    if kind == "object":
        return json.dumps(value) if value else ""
    # StackStorm would turn 0 into "" here (a truthiness test); 0 is a value, so it stays "0".
    return str(value)


def script_command(script, account):
    """How `account` starts the script; refused, naming the user, when it cannot read it."""
    sandbox.require_readable(account, script, "the entry point")
    return interpreter(script, account)


def interpreter(script, account):
    """How to start the script: directly when the account may execute it. StackStorm chmods
    entry points +x before running them; pack files are not ours to modify, so a
    non-executable script runs with the interpreter named on its #! line, or bash when it has
    none (found on the action's fixed PATH)."""
    if account.can_run(script):
        return [str(script)]
    with open(script, "rb") as handle:
        first_line = handle.readline(256).decode("utf-8", errors="replace")
    if first_line.startswith("#!") and first_line[2:].strip():
        # As the kernel reads it: the interpreter, then at most one argument.
        return first_line[2:].strip().split(None, 1) + [str(script)]
    return ["bash", str(script)]
