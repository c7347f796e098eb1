"""Inline executions (core.noop) run in batches while they are claimed: one write transaction
for all of them, each execution still with its whole log and every stream event; a row that
changed meanwhile is re-read, never moved from a status it no longer has. Writers of one process
that wait at the same time share a transaction, and each still gets its own outcome."""

import threading

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from st2bridge import executions, writers
from st2bridge.models import Execution, StreamEvent, TriggerInstance
from st2bridge.rows import mark_saved, prepared_insert
from st2bridge.worker import Worker, claim

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db(transaction=True)

STATUSES = ["requested", "scheduled", "running", "succeeded"]


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    register_bundled_packs()


def launch(api, action="core.noop", **parameters):
    body = {"action": action, "parameters": parameters}
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def updates_of(execution_id):
    events = StreamEvent.objects.filter(
        execution_id=execution_id, name="st2.execution__update"
    ).order_by("id")
    return [event.data["status"] for event in events]


def test_one_tick_runs_a_batch_of_noops_with_every_transition_and_event(alice_api):
    ids = [launch(alice_api) for _ in range(5)]
    Worker(concurrency=10).tick()
    for execution in Execution.objects.filter(pk__in=ids):
        assert execution.status == "succeeded"
        assert [entry["status"] for entry in execution.log] == STATUSES
        assert execution.result["succeeded"] is True
        assert execution.end_timestamp is not None
        assert updates_of(execution.id) == STATUSES[1:]


def test_a_claim_skips_what_was_canceled_after_it_was_read(alice_api):
    first, second = launch(alice_api), launch(alice_api)
    stale = Execution.objects.get(pk=second)  # read before the cancel, as a claim reads it
    assert alice_api.delete(f"/api/v1/executions/{second}").status_code == 200
    moved = executions.transition_all(
        [
            (Execution.objects.get(pk=first), "scheduled", {"worker": "w"}),
            (stale, "scheduled", {"worker": "w"}),
        ],
        only_from=("requested",),
    )
    assert [execution.id for execution in moved] == [first]
    assert stale.status == "canceled"  # re-read, not moved
    assert [entry["status"] for entry in stale.log] == ["requested", "canceled"]
    assert updates_of(second) == ["canceled"]


def test_a_claim_finishes_inline_jobs_and_schedules_the_others(alice_api):
    noop = launch(alice_api)
    local = launch(alice_api, "core.local", cmd="echo hi")
    jobs = claim("w", 10)
    assert {job.execution.id: job.execution.status for job in jobs} == {
        noop: "succeeded",
        local: "scheduled",
    }
    statuses = dict(Execution.objects.filter(pk__in=[noop, local]).values_list("id", "status"))
    assert statuses == {noop: "succeeded", local: "scheduled"}
    assert Execution.objects.get(pk=noop).worker == "w"
    assert updates_of(local) == ["scheduled"]


def _instance_insert(instance_id):
    instance = TriggerInstance(
        id=instance_id, trigger="core.x", trigger_type="core.x", occurrence_time=timezone.now()
    )
    return instance, prepared_insert([instance])


def test_grouped_writes_commit_each_and_a_failing_one_fails_alone():
    existing, _ = _instance_insert("a" * 24)
    existing.save(force_insert=True)
    outcomes = {}

    def write(name, instance_id):
        instance, insert = _instance_insert(instance_id)
        try:
            writers.insert_together([insert])
            mark_saved([instance])
            outcomes[name] = "committed"
        except IntegrityError:
            outcomes[name] = "refused"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(name, instance_id))
        for name, instance_id in (("new1", "b" * 24), ("dup", "a" * 24), ("new2", "c" * 24))
    ]
    with writers._leader:  # hold the group back so the three writes wait together
        for thread in threads:
            thread.start()
        while len(writers._pending) < 3:
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"new1": "committed", "dup": "refused", "new2": "committed"}
    assert set(TriggerInstance.objects.values_list("id", flat=True)) == {
        "a" * 24,
        "b" * 24,
        "c" * 24,
    }
