"""local-shell-cmd (core.local): `cmd` is a shell command line by definition, so it, and only
it, goes to a shell. No other parameter value is ever interpreted by a shell."""

import shutil

from .base import Runner
from .process import ACTION_PATH
from .shell import SHELL_RUNNER_PARAMETERS, refused, run_local


class LocalShellCmdRunner(Runner):
    name = "local-shell-cmd"
    runner_parameters = SHELL_RUNNER_PARAMETERS
    action_api = True

    def run(self, request):
        cmd = request.parameters.get("cmd")
        if not isinstance(cmd, str) or not cmd.strip():
            return refused("cmd is required: the command line to run.")
        return run_local(request, lambda account: [shell_path(), "-c", cmd])


def shell_path():
    """bash, not /bin/sh: StackStorm hands commands to /bin/sh, which is dash on Debian and
    Ubuntu but bash on RHEL, so bash gives every worker host the same syntax (and runs POSIX sh
    commands unchanged). StackStorm itself uses bash -c when it runs a command through sudo."""
    return shutil.which("bash", path=ACTION_PATH) or "/bin/sh"
