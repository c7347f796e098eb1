"""The worker runs executions for real: status transitions, results, output while running,
timeouts, cancel, exactly-once claims across processes, abandoned work and SIGTERM."""

import json
import os
import signal
import time

import pytest
from django.db import connection

from st2bridge.models import Execution, StreamEvent
from st2bridge.worker import mark_abandoned

from .action_support import shared_tmp_dir
from .catalog_support import register_bundled_packs
from .worker_support import (
    Worker,
    run_to_completion,
    run_until,
    start_worker_process,
    status_of,
    stop_worker_process,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tmp_path():
    """Actions here write pid and marker files: a directory the action user can use."""
    yield from shared_tmp_dir()


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    register_bundled_packs()


def launch(api, action, **parameters):
    response = api.post(
        "/api/v1/executions", {"action": action, "parameters": parameters}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_shell_command_runs_and_records_every_transition(alice_api):
    execution_id = launch(alice_api, "core.local", cmd="echo hi; echo oops >&2")
    done = run_to_completion(execution_id)
    assert done.status == "succeeded"
    assert done.result["stdout"] == "hi"
    assert done.result["stderr"] == "oops"
    assert done.result["return_code"] == 0
    assert [entry["status"] for entry in done.log] == [
        "requested",
        "scheduled",
        "running",
        "succeeded",
    ]
    shown = alice_api.get(f"/api/v1/executions/{execution_id}").json()
    assert shown["elapsed_seconds"] >= 0
    assert shown["end_timestamp"].endswith("Z")
    output = alice_api.get(f"/api/v1/executions/{execution_id}/output?output_type=stdout")
    assert output["Content-Type"].startswith("text/plain")
    assert output.content.decode() == "hi\n"


def test_failing_command_is_failed(alice_api):
    done = run_to_completion(launch(alice_api, "core.local", cmd="exit 3"))
    assert done.status == "failed"
    assert done.result["return_code"] == 3
    assert done.result["failed"] is True


def test_timeout_status(alice_api):
    started = time.monotonic()
    done = run_to_completion(launch(alice_api, "core.local", cmd="sleep 30", timeout=1))
    assert done.status == "timeout"
    assert time.monotonic() - started < 15


def test_partial_output_readable_while_running(alice_api):
    execution_id = launch(alice_api, "core.local", cmd="echo first; sleep 3; echo second")
    worker = Worker(concurrency=1, poll_interval=0.05)
    url = f"/api/v1/executions/{execution_id}/output"
    try:
        run_until(lambda: "first" in alice_api.get(url).content.decode(), worker)
        assert status_of(execution_id) == "running"
        assert "second" not in alice_api.get(url).content.decode()
        run_until(lambda: status_of(execution_id) == "succeeded", worker)
    finally:
        worker.drain()
    assert alice_api.get(url).content.decode() == "first\nsecond\n"


def other_database_sessions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_output_recording_threads_leave_no_database_session_open(alice_api):
    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL server sessions")
    done = run_to_completion(launch(alice_api, "core.local", cmd="echo out; echo err >&2"))
    assert (done.result["stdout"], done.result["stderr"]) == ("out", "err")
    run_until(lambda: other_database_sessions() == 0, timeout=5)


def test_cancel_kills_the_running_process_tree(alice_api, tmp_path):
    pid_file = tmp_path / "child.pid"
    execution_id = launch(alice_api, "core.local", cmd=f"sleep 60 & echo $! > {pid_file}; wait")
    worker = Worker(concurrency=1, poll_interval=0.05)
    try:
        run_until(lambda: pid_file.exists() and pid_file.read_text().strip(), worker)
        response = alice_api.delete(f"/api/v1/executions/{execution_id}")
        assert response.json()["status"] == "canceling"
        run_until(lambda: status_of(execution_id) == "canceled", worker)
    finally:
        worker.drain()
    child = int(pid_file.read_text())
    run_until(lambda: not _alive(child), timeout=10)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited already
        return stat.read().split()[2] != "Z"


def test_python_action_of_a_pack_runs_unchanged(alice_api):
    done = run_to_completion(launch(alice_api, "demo.greet", name="Ada", times=2, shout=True))
    assert done.status == "succeeded", done.result
    assert "ADA" in str(done.result["result"])


def test_script_arguments_are_never_shell_interpreted(alice_api, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker}); touch {marker}"
    execution_id = launch(
        alice_api, "demo.deploy", environment="staging", version="1.0", services=[hostile]
    )
    done = run_to_completion(execution_id)
    assert done.status == "succeeded", done.result
    assert hostile in done.result["stdout"]
    assert not marker.exists()


def test_each_execution_claimed_by_exactly_one_of_several_workers(alice_api):
    ids = [launch(alice_api, "core.local", cmd=f"echo {n}") for n in range(12)]
    workers = [start_worker_process(ST2_WORKER_CONCURRENCY=2) for _ in range(3)]
    try:
        run_until(lambda: all(status_of(i) == "succeeded" for i in ids), timeout=60)
    finally:
        logs = [stop_worker_process(worker) for worker in workers]
    for execution in Execution.objects.filter(pk__in=ids):
        statuses = [entry["status"] for entry in execution.log]
        assert statuses.count("running") == 1, (statuses, logs)
        assert str(execution.result["stdout"]) == str(ids.index(execution.id))  # JSON-parsed


def test_work_of_a_killed_worker_is_abandoned(alice_api):
    execution_id = launch(alice_api, "core.local", cmd="sleep 60")
    worker = start_worker_process()
    try:
        run_until(lambda: status_of(execution_id) == "running")
    finally:
        stop_worker_process(worker, signal.SIGKILL)
    time.sleep(1.5)
    mark_abandoned(stale_after=1)
    done = Execution.objects.get(pk=execution_id)
    assert done.status == "abandoned"
    assert "stopped responding" in done.result["error"]


def test_sigterm_finishes_running_work_then_fails_what_overruns(alice_api):
    quick = launch(alice_api, "core.local", cmd="sleep 1; echo done")
    slow = launch(alice_api, "core.local", cmd="sleep 60")
    worker = start_worker_process(ST2_WORKER_GRACE=3, ST2_WORKER_CONCURRENCY=2)
    run_until(lambda: status_of(quick) == "running" and status_of(slow) == "running")
    worker.send_signal(signal.SIGTERM)
    late = launch(alice_api, "core.local", cmd="echo late")
    stop_worker_process(worker, timeout=30)
    assert worker.returncode == 0
    assert status_of(quick) == "succeeded"
    slow_done = Execution.objects.get(pk=slow)
    assert slow_done.status == "failed"
    assert "shut down" in slow_done.result["error"]
    assert status_of(late) == "requested"  # no new work after SIGTERM


def test_secret_printed_by_an_action_is_masked_everywhere(admin_api):
    canary = "canary-printed-9001"
    execution_id = launch(
        admin_api,  # sudo_password is a runner parameter only staff may set
        "core.local",
        sudo_password=canary,  # a secret runner parameter, rendered into the command
        cmd="echo token is {{ sudo_password }}; echo {{ sudo_password }} >&2",
    )
    done = run_to_completion(execution_id)
    assert done.status == "succeeded", done.result
    assert done.result["stdout"] == "token is ********"
    shown = admin_api.get(f"/api/v1/executions/{execution_id}").content.decode()
    output = admin_api.get(f"/api/v1/executions/{execution_id}/output").content.decode()
    events = StreamEvent.objects.filter(execution_id=execution_id).values_list("data", flat=True)
    for text in (shown, output, json.dumps(list(events)), json.dumps(done.parameters)):
        assert canary not in text
    assert "********" in output
