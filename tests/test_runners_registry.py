"""The runner registry: every runner type of runner_types.yaml either runs or is declared
metadata only, and each runner knows exactly the runner parameters the YAML gives it."""

import threading
from pathlib import Path

import pytest
import yaml

from st2bridge.runners import METADATA_ONLY, REGISTRY, RunnerUnavailable, RunRequest, get_runner

ROOT = Path(__file__).resolve().parent.parent
RUNNER_TYPES = {
    spec["name"]: spec
    for spec in yaml.safe_load((ROOT / "st2bridge/runner_types.yaml").read_text())
}


def test_every_runner_type_is_either_runnable_or_metadata_only():
    assert set(REGISTRY) | METADATA_ONLY == set(RUNNER_TYPES)
    assert not set(REGISTRY) & METADATA_ONLY


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_runner_parameters_match_runner_types_yaml(name):
    runner = get_runner(name)
    assert runner.name == name
    assert runner.runner_parameters == set(RUNNER_TYPES[name]["runner_parameters"])


def test_metadata_only_and_unknown_runners_are_refused_clearly():
    with pytest.raises(RunnerUnavailable) as refused:
        get_runner("orquesta")
    assert str(refused.value) == (
        "Runner 'orquesta' is registered as metadata only and cannot run here."
    )
    with pytest.raises(RunnerUnavailable, match="Runner 'bogus' is unknown."):
        get_runner("bogus")


def test_noop_succeeds_at_once():
    request = RunRequest("e", {"ref": "core.noop"}, None, {}, None, print, threading.Event())
    outcome = get_runner("noop").run(request)
    assert outcome.status == "succeeded"
    assert outcome.result == {
        "failed": False,
        "succeeded": True,
        "return_code": 0,
        "stdout": "",
        "stderr": "",
    }
