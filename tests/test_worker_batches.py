"""Inline executions (core.noop) run in batches while they are claimed: one write transaction
for all of them, each execution still with its whole log and every stream event; a row that
changed meanwhile is re-read, never moved from a status it no longer has."""

import pytest

from st2bridge import lifecycle
from st2bridge.models import Execution, StreamEvent
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
    moved = lifecycle.transition_through(
        [
            (Execution.objects.get(pk=first), [("scheduled", {"worker": "w"})]),
            (stale, [("scheduled", {"worker": "w"})]),
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
