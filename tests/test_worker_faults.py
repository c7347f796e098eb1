"""Faults: a worker killed with SIGKILL mid-work leaves nothing stuck once a worker is back."""

import signal

import pytest

from st2bridge.models import Execution

from .catalog_support import register_bundled_packs
from .worker_support import run_until, start_worker_process, stop_worker_process

pytestmark = pytest.mark.django_db(transaction=True)


def test_kill_9_during_twenty_running_executions(alice_api, transactional_db):
    register_bundled_packs()
    ids = []
    for _ in range(20):
        body = {"action": "core.local", "parameters": {"cmd": "sleep 15", "timeout": 120}}
        ids.append(alice_api.post("/api/v1/executions", body, format="json").json()["id"])
    running = Execution.objects.filter(pk__in=ids, status="running")
    doomed = start_worker_process(ST2_WORKER_CONCURRENCY=20)
    try:
        run_until(lambda: running.count() == 20, timeout=60)
    finally:
        stop_worker_process(doomed, signal.SIGKILL)
    rescuer = start_worker_process(ST2_HEARTBEAT_STALE_AFTER=2)
    try:
        abandoned = Execution.objects.filter(pk__in=ids, status="abandoned")
        run_until(lambda: abandoned.count() == 20, timeout=60)
    finally:
        stop_worker_process(rescuer)
    assert Execution.objects.filter(pk__in=ids).count() == 20  # none lost
    for execution in Execution.objects.filter(pk__in=ids):
        assert [e["status"] for e in execution.log].count("running") == 1  # none run twice
