"""Retention (issue 18, st2bridge.retention): each table purged past its TTL (days) and kept
before it, executions not completed and the parents of kept executions never purged, batches
bounded and timed, `manage.py purge [--dry-run]`, the worker purging, and the API answering
(never a 500) for what refers to purged rows."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from st2bridge import retention
from st2bridge.models import (
    Execution,
    ExecutionOutput,
    RuleEnforcement,
    StreamEvent,
    TimerFiring,
    Token,
    TriggerInstance,
)
from st2bridge.worker import Worker

from .catalog_support import register_bundled_packs
from .test_rules_firing import hook_rule, post_hook
from .test_settings_database import run_python
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db

TTLS = [table.setting for table in retention.TABLES]
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture
def keep_all(settings):
    """Every TTL 0 (keep for ever); a test sets the ones it purges."""
    for name in TTLS:
        setattr(settings, name, 0)
    return settings


def fire_rule(api):
    """A webhook rule run to completion: a trigger instance, an enforcement, an execution with
    output, stream events. Returns (enforcement, execution). core.noop runs inline (a thread
    of core.local would need a transactional test); its output is written here."""
    rule = hook_rule(api, action="core.noop")
    assert post_hook(api, "deploy", {"n": 1}).status_code == 202
    [enforcement] = RuleEnforcement.objects.filter(rule_ref=rule["ref"])
    execution = run_to_completion(enforcement.execution_id)
    assert execution.status == Execution.SUCCEEDED
    ExecutionOutput.objects.create(execution=execution, output_type="stdout", data="hello")
    return enforcement, execution


def world(api):
    enforcement, execution = fire_rule(api)
    TimerFiring.objects.create(trigger_ref="core.tick", due_at=timezone.now())
    counts = {model: model.objects.count() for model in MODELS.values()}
    assert all(counts.values()), counts  # every table has something to purge
    return counts


MODELS = {table.setting: table.model for table in retention.TABLES}


def purged(now, **options):
    return {r.table: r.purged for r in retention.purge(now=now, budget=None, **options)}


@pytest.mark.parametrize("setting", TTLS)
def test_a_table_is_purged_past_its_ttl_and_kept_before_it(keep_all, alice_api, setting):
    counts = world(alice_api)
    setattr(keep_all, setting, 2)
    model = MODELS[setting]
    # Tokens count from their expiry (a day from now), the others from when they were made.
    start = timezone.now() + (DAY if model is Token else timedelta(0))
    assert sum(purged(start + 2 * DAY - timedelta(minutes=1)).values()) == 0
    assert {m: m.objects.count() for m in MODELS.values()} == counts

    report = purged(start + 2 * DAY + timedelta(minutes=1))
    assert model.objects.count() == 0
    [table] = [t.name for t in retention.TABLES if t.setting == setting]
    assert report[table] == counts[model]
    others = {m: m.objects.count() for m in MODELS.values() if m is not model}
    if model is Execution:  # an execution's output goes with it
        assert others.pop(ExecutionOutput) == 0
        counts.pop(ExecutionOutput)
    assert others == {m: n for m, n in counts.items() if m is not model}


def execution(status=Execution.SUCCEEDED, parent=None, age=3 * DAY):
    return Execution.objects.create(
        action_ref="core.noop",
        user="alice",
        status=status,
        parent=parent,
        start_timestamp=timezone.now() - age,
    )


def test_running_executions_and_the_parents_of_kept_ones_are_never_purged(keep_all):
    keep_all.ST2_ACTION_EXECUTIONS_TTL = 1
    leaf = execution()
    kept = [
        execution(Execution.RUNNING),
        execution(Execution.REQUESTED),
        execution(Execution.CANCELING),
        execution(age=DAY / 2),  # young
    ]
    parent_of_running = execution()
    kept += [parent_of_running, execution(Execution.RUNNING, parent=parent_of_running)]
    grandparent = execution()
    parent = execution(parent=grandparent)
    kept += [grandparent, parent, execution(age=DAY / 2, parent=parent)]
    tree = execution()
    branch = execution(parent=tree)
    gone = [leaf, tree, branch, execution(parent=tree), execution(parent=branch)]

    out = StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert f"executions: would delete {len(gone)} older than" in out.getvalue()
    assert Execution.objects.count() == len(kept) + len(gone)

    assert purged(None, batch=1)["executions"] == len(gone)
    assert set(Execution.objects.values_list("pk", flat=True)) == {e.pk for e in kept}


def test_dry_run_deletes_nothing_and_prints_counts_and_cutoffs(keep_all):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    for _ in range(3):
        StreamEvent.objects.create(name="st2.test", data={})
    StreamEvent.objects.update(created_at=timezone.now() - 2 * DAY)
    StreamEvent.objects.create(name="st2.test", data={})

    out = StringIO()
    call_command("purge", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert StreamEvent.objects.count() == 4
    [line] = [line for line in lines if line.startswith("stream events:")]
    assert line.startswith("stream events: would delete 3 older than 20")
    assert line.endswith("(ST2_STREAM_EVENTS_TTL=1 days)")
    assert "executions: kept for ever (ST2_ACTION_EXECUTIONS_TTL=0)" in lines

    out = StringIO()
    call_command("purge", stdout=out)
    assert "stream events: deleted 3 older than" in out.getvalue()
    assert StreamEvent.objects.count() == 1


def old_stream_events(count):
    StreamEvent.objects.bulk_create(StreamEvent(name="st2.test", data={}) for _ in range(count))
    StreamEvent.objects.update(created_at=timezone.now() - 2 * DAY)


def test_batches_are_bounded(keep_all, monkeypatch):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    old_stream_events(50)
    monkeypatch.setattr(retention, "MAX_BATCH", 4)
    [report] = [r for r in retention.purge(budget=None, batch=4) if r.table == "stream events"]
    assert report.purged == 50
    assert len(report.batches) >= 13
    assert all(0 < rows <= 4 for rows, _ in report.batches)
    assert StreamEvent.objects.count() == 0


def test_a_slow_batch_halves_the_next(keep_all, monkeypatch):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    old_stream_events(30)
    monkeypatch.setattr(retention, "BATCH_TARGET", 0)  # every batch too slow
    [report] = [r for r in retention.purge(budget=None, batch=8) if r.table == "stream events"]
    assert [rows for rows, _ in report.batches][:5] == [8, 4, 2, 1, 1]
    assert report.purged == 30


def test_a_worker_call_is_bounded_by_its_budget(keep_all):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    old_stream_events(20)
    assert sum(r.purged for r in retention.purge(budget=0)) == 0
    assert StreamEvent.objects.count() == 20


def test_the_worker_purges(keep_all):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    old_stream_events(5)
    young = StreamEvent.objects.create(name="st2.test", data={})
    Worker(concurrency=1).tick()
    assert list(StreamEvent.objects.values_list("pk", flat=True)) == [young.pk]


def test_the_api_answers_for_what_refers_to_purged_rows(keep_all, alice_api, admin_api):
    enforcement, run = fire_rule(alice_api)
    keep_all.ST2_ACTION_EXECUTIONS_TTL = 1
    keep_all.ST2_TRIGGER_INSTANCES_TTL = 1
    report = purged(timezone.now() + 2 * DAY)
    assert report["executions"] == 1 and report["trigger instances"] == 1
    assert report["rule enforcements"] == 0
    for api in (alice_api, admin_api):
        response = api.get(f"/api/v1/ruleenforcements/{enforcement.id}")
        assert response.status_code == 200, response.json()
        assert response.json()["execution_id"] == run.id
        assert api.get("/api/v1/ruleenforcements").status_code == 200
        assert api.get(f"/api/v1/executions/{run.id}").status_code == 404
        assert api.get(f"/api/v1/executions/{run.id}/output").status_code == 404
        instance = f"/api/v1/triggerinstances/{enforcement.trigger_instance_id}"
        assert api.get(instance).status_code == 404
        assert api.get("/api/v1/executions").status_code == 200
    assert not TriggerInstance.objects.exists()
    assert not ExecutionOutput.objects.exists()


def test_an_execution_whose_trigger_instance_was_purged_is_shown(keep_all, alice_api):
    _, run = fire_rule(alice_api)
    keep_all.ST2_TRIGGER_INSTANCES_TTL = 1
    assert purged(timezone.now() + 2 * DAY)["trigger instances"] == 1
    response = alice_api.get(f"/api/v1/executions/{run.id}")
    assert response.status_code == 200, response.json()
    # The execution keeps the instance as it was when it started (as StackStorm's does):
    # purging the instance changes nothing of what the execution shows.
    shown = response.json()["trigger_instance"]
    assert shown["id"] == run.trigger_instance_id and shown["payload"]["body"] == {"n": 1}


def test_ttl_settings_read_days_from_the_environment(tmp_path):
    read = "from django.conf import settings; print(settings.ST2_STREAM_EVENTS_TTL)"
    env = {"PORTAL_DATA_DIR": str(tmp_path)}
    assert run_python(read, **env).stdout.split() == ["1"]  # the default
    assert run_python(read, ST2_STREAM_EVENTS_TTL="30", **env).stdout.split() == ["30"]
    assert run_python(read, ST2_STREAM_EVENTS_TTL="None", **env).stdout.split() == ["0"]
    for bad in ("-1", "1.5", "week"):
        result = run_python(read, ST2_STREAM_EVENTS_TTL=bad, **env)
        assert result.returncode != 0
        assert "ST2_STREAM_EVENTS_TTL" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_sqlite_checkpoints_itself_between_batches_only_during_a_purge(keep_all, monkeypatch):
    keep_all.ST2_STREAM_EVENTS_TTL = 1
    old_stream_events(20)
    monkeypatch.setattr(retention, "CHECKPOINT_EVERY", 0)
    monkeypatch.setattr(retention, "MAX_BATCH", 4)
    sqlite = connection.vendor == "sqlite"
    before = retention._pragma("wal_autocheckpoint") if sqlite else None
    pragmas = []
    real = retention._pragma

    def pragma(statement):
        pragmas.append(statement)
        return real(statement)

    monkeypatch.setattr(retention, "_pragma", pragma)
    [report] = [r for r in retention.purge(budget=None, batch=4) if r.table == "stream events"]
    assert report.purged == 20 and len(report.batches) >= 5
    if not sqlite:
        assert pragmas == []  # PostgreSQL has no WAL checkpoints to move
        return
    assert pragmas[:2] == ["wal_autocheckpoint", "wal_autocheckpoint=0"]
    assert pragmas.count("wal_checkpoint(PASSIVE)") == len(report.batches)  # after each
    assert pragmas[-1] == f"wal_autocheckpoint={before[0]}"
    assert real("wal_autocheckpoint") == before
