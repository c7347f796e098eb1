"""Runners: one module per StackStorm runner type that st2bridge executes, registered by name
(like healthchecks' TRANSPORTS).

Adding a runner: write a module with a Runner subclass (name, runner_parameters, run()),
add it to REGISTRY below, and describe it in st2bridge/runner_types.yaml.
"""

from . import http_request, local_shell_cmd, local_shell_script, noop, python_script
from .base import Runner, RunnerUnavailable, RunRequest, RunResult

__all__ = [
    "REGISTRY",
    "METADATA_ONLY",
    "Runner",
    "RunnerUnavailable",
    "RunRequest",
    "RunResult",
    "get_runner",
    "unsupported",
]

REGISTRY = {
    "noop": noop.NoopRunner,
    "local-shell-cmd": local_shell_cmd.LocalShellCmdRunner,
    "local-shell-script": local_shell_script.LocalShellScriptRunner,
    "http-request": http_request.HttpRequestRunner,
    "python-script": python_script.PythonScriptRunner,
}

# In runner_types.yaml so that StackStorm content using them loads, lists and renders, but
# st2bridge cannot execute them (no SSH, WinRM, workflow engine or inquiries).
METADATA_ONLY = frozenset(
    {
        "remote-shell-cmd",
        "remote-shell-script",
        "action-chain",
        "orquesta",
        "announcement",
        "inquirer",
        "winrm-cmd",
        "winrm-ps-cmd",
        "winrm-ps-script",
    }
)


def unsupported(runner_type):
    """Why actions of `runner_type` cannot run on this server (a sentence naming the runner),
    or None when they can: they are registered, listed and shown all the same."""
    if runner_type in REGISTRY:
        return None
    return (
        f'Runner "{runner_type}" cannot run on this server (it runs: '
        f"{', '.join(sorted(REGISTRY))})."
    )


def get_runner(name):
    if name in REGISTRY:
        return REGISTRY[name]()
    if name in METADATA_ONLY:
        raise RunnerUnavailable(
            f"Runner '{name}' is registered as metadata only and cannot run here."
        )
    raise RunnerUnavailable(f"Runner '{name}' is unknown.")
