"""noop (core.noop): does nothing and succeeds at once."""

from .base import SUCCEEDED, Runner, RunResult


class NoopRunner(Runner):
    name = "noop"
    inline = True  # nothing to wait for: a thread would cost more than the run

    def run(self, request):
        result = {"failed": False, "succeeded": True, "return_code": 0, "stdout": "", "stderr": ""}
        return RunResult(SUCCEEDED, result)
