"""Timer triggers (notes §6.1): IntervalTimer, DateTimer and CronTimer ticks fire on time,
exactly once per tick however many workers look (a unique TimerFiring row per tick), and
follow rule changes without a restart. Ticks are driven with explicit datetimes through
timers.fire_due_timers(now=...); one test runs a real worker process."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from st2bridge import retention, timers, triggers
from st2bridge.models import Execution, TimerFiring, Trigger, TriggerInstance
from st2bridge.worker import Worker

from .catalog_support import register_bundled_packs
from .worker_support import run_until, start_worker_process, stop_worker_process

pytestmark = pytest.mark.django_db
[FIRINGS] = [table for table in retention.TABLES if table.model is TimerFiring]
KEEP_FIRINGS = timedelta(days=1)  # ST2_TIMER_FIRINGS_TTL's default


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def timer_rule(api, trigger_type, name="tick", enabled=True, **parameters):
    body = {
        "name": name,
        "pack": "demo",
        "enabled": enabled,
        "trigger": {"type": trigger_type, "parameters": parameters},
        "action": {"ref": "core.local", "parameters": {"cmd": "echo {{ trigger.executed_at }}"}},
    }
    response = api.post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def trigger_of(rule):
    return Trigger.objects.get(ref=rule["trigger"]["ref"])


def fired_at(rule):
    """executed_at of each trigger instance of the rule's trigger, oldest first."""
    instances = TriggerInstance.objects.filter(trigger=rule["trigger"]["ref"])
    return sorted(instance.payload["executed_at"] for instance in instances)


def interval_rule(api, delta=5, **extra):
    return timer_rule(api, "core.st2.IntervalTimer", unit="seconds", delta=delta, **extra)


def test_interval_timer_fires_each_tick_once(alice_api):
    rule = interval_rule(alice_api)
    start = trigger_of(rule).created_at
    assert timers.fire_due_timers(now=start + timedelta(seconds=4.9)) == 0
    assert timers.fire_due_timers(now=start + timedelta(seconds=5)) == 1
    assert timers.fire_due_timers(now=start + timedelta(seconds=5)) == 0
    assert timers.fire_due_timers(now=start + timedelta(seconds=9)) == 0
    assert timers.fire_due_timers(now=start + timedelta(seconds=10.5)) == 1
    expected = [str(start + timedelta(seconds=s)) for s in (5, 10)]
    assert fired_at(rule) == expected
    instance = TriggerInstance.objects.filter(trigger=rule["trigger"]["ref"]).first()
    assert instance.payload["schedule"] == {
        "type": "core.st2.IntervalTimer",
        "unit": "seconds",
        "delta": 5,
    }
    executions = Execution.objects.filter(rule_ref=rule["ref"])
    assert sorted(e.parameters["cmd"] for e in executions) == [f"echo {at}" for at in expected]
    assert all(e.context["trigger_instance"]["id"] for e in executions)


def test_a_tick_missed_beyond_the_grace_is_skipped(alice_api):
    rule = interval_rule(alice_api, delta=600)
    start = trigger_of(rule).created_at
    late = start + timedelta(seconds=600) + timers.triggers.MISFIRE_GRACE + timedelta(seconds=1)
    assert timers.fire_due_timers(now=late) == 0
    assert timers.fire_due_timers(now=start + timedelta(seconds=1200)) == 1
    assert fired_at(rule) == [str(start + timedelta(seconds=1200))]


def test_date_timer_fires_once(alice_api):
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    rule = timer_rule(alice_api, "core.st2.DateTimer", date=at.isoformat())
    assert timers.fire_due_timers(now=at - timedelta(seconds=1)) == 0
    assert timers.fire_due_timers(now=at) == 1
    assert timers.fire_due_timers(now=at + timedelta(seconds=1)) == 0
    assert timers.fire_due_timers(now=at + timedelta(minutes=3)) == 0
    assert fired_at(rule) == [str(at)]


def test_date_timer_in_a_time_zone(alice_api):
    local = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0, tzinfo=None)
    rule = timer_rule(
        alice_api, "core.st2.DateTimer", date=local.isoformat(), timezone="Asia/Kolkata"
    )
    utc = local.replace(tzinfo=UTC) - timedelta(hours=5, minutes=30)
    assert timers.fire_due_timers(now=utc - timedelta(seconds=1)) == 0
    assert timers.fire_due_timers(now=utc) == 1
    assert fired_at(rule) == [str(utc)]


def test_cron_timer_every_other_second(alice_api):
    rule = timer_rule(alice_api, "core.st2.CronTimer", second="*/2")
    created = trigger_of(rule).created_at
    even = created.replace(microsecond=0) + timedelta(seconds=2 + created.second % 2)
    assert timers.fire_due_timers(now=even) == 1
    assert timers.fire_due_timers(now=even + timedelta(seconds=1.5)) == 0
    assert timers.fire_due_timers(now=even + timedelta(seconds=2)) == 1
    assert timers.fire_due_timers(now=even + timedelta(seconds=2)) == 0
    assert fired_at(rule) == [str(even), str(even + timedelta(seconds=2))]


def test_cron_timer_minute_schedule(alice_api):
    rule = timer_rule(alice_api, "core.st2.CronTimer", minute="*/5", second=0)
    created = trigger_of(rule).created_at
    tick = created.replace(second=0, microsecond=0) + timedelta(minutes=5 - created.minute % 5)
    assert timers.fire_due_timers(now=tick - timedelta(seconds=1)) == 0
    assert timers.fire_due_timers(now=tick + timedelta(seconds=30)) == 1
    assert fired_at(rule) == [str(tick)]


def test_disabling_or_changing_the_rule_is_followed_without_a_restart(alice_api):
    rule = interval_rule(alice_api)
    start = trigger_of(rule).created_at
    assert timers.fire_due_timers(now=start + timedelta(seconds=5)) == 1
    off = alice_api.put(f"/api/v1/rules/{rule['id']}", {**rule, "enabled": False}, format="json")
    assert off.status_code == 200, off.json()
    assert timers.fire_due_timers(now=start + timedelta(seconds=10)) == 0

    changed = {**rule, "enabled": True}
    changed["trigger"] = {
        "type": "core.st2.IntervalTimer",
        "parameters": {"unit": "seconds", "delta": 2},
    }
    response = alice_api.put(f"/api/v1/rules/{rule['id']}", changed, format="json")
    assert response.status_code == 200, response.json()
    new = response.json()
    assert new["trigger"]["ref"] != rule["trigger"]["ref"]
    new_start = trigger_of(new).created_at
    assert timers.fire_due_timers(now=new_start + timedelta(seconds=2)) == 1
    assert len(fired_at(new)) == 1

    assert alice_api.delete(f"/api/v1/rules/{rule['id']}").status_code == 204
    assert timers.fire_due_timers(now=new_start + timedelta(seconds=4)) == 0


def test_rules_sharing_a_timer_each_fire_once_per_tick(alice_api):
    first = interval_rule(alice_api, name="first")
    second = interval_rule(alice_api, name="second")
    assert first["trigger"]["ref"] == second["trigger"]["ref"]
    start = trigger_of(first).created_at
    assert timers.fire_due_timers(now=start + timedelta(seconds=5)) == 1
    assert Execution.objects.filter(rule_ref=first["ref"]).count() == 1
    assert Execution.objects.filter(rule_ref=second["ref"]).count() == 1


def forget_old_firings(now):
    """The timer firings part of a purge (st2bridge.retention), at `now`."""
    [report] = retention.purge(now=now, budget=None, tables=[FIRINGS])
    return report.purged


def test_firings_older_than_their_ttl_are_forgotten(alice_api):
    rule = interval_rule(alice_api)
    start = trigger_of(rule).created_at
    for seconds in (5, 10, 15, 20, 25):
        assert timers.fire_due_timers(now=start + timedelta(seconds=seconds)) == 1
    later = start + timedelta(seconds=20) + KEEP_FIRINGS
    assert forget_old_firings(later) == 3  # ticks 5, 10, 15
    assert forget_old_firings(later) == 0
    kept = TimerFiring.objects.filter(trigger_ref=rule["trigger"]["ref"]).order_by("due_at")
    assert [f.due_at - start for f in kept] == [timedelta(seconds=20), timedelta(seconds=25)]
    assert len(fired_at(rule)) == 5  # what fired stays recorded


def test_a_forgotten_tick_never_fires_again(alice_api):
    # Ticks are looked for only within the misfire grace, far shorter than what is kept.
    assert KEEP_FIRINGS > 10 * triggers.MISFIRE_GRACE
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    rule = timer_rule(alice_api, "core.st2.DateTimer", date=at.isoformat())
    assert timers.fire_due_timers(now=at) == 1
    later = at + KEEP_FIRINGS + timedelta(seconds=1)
    assert forget_old_firings(later) == 1
    assert timers.fire_due_timers(now=later) == 0
    assert fired_at(rule) == [str(at)]


def test_the_worker_loop_forgets_old_firings(alice_api):
    now = datetime.now(UTC)
    TimerFiring.objects.create(trigger_ref="core.x", due_at=now - timedelta(days=2))
    TimerFiring.objects.create(trigger_ref="core.x", due_at=now - timedelta(hours=1))
    Worker(concurrency=1).tick()
    assert list(TimerFiring.objects.values_list("due_at", flat=True)) == [now - timedelta(hours=1)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_same_moment_fire_a_tick_once(alice_api):
    rule = interval_rule(alice_api)
    now = trigger_of(rule).created_at + timedelta(seconds=5)
    barrier, fired = threading.Barrier(4), []

    def look():
        try:
            barrier.wait()
            fired.append(timers.fire_due_timers(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fired) == [0, 0, 0, 1]
    assert TriggerInstance.objects.filter(trigger=rule["trigger"]["ref"]).count() == 1
    assert Execution.objects.filter(rule_ref=rule["ref"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_fires_an_interval_timer_and_runs_the_executions(alice_api):
    process = start_worker_process()
    try:
        # The rule is created after the worker started: no restart needed to pick it up.
        rule = interval_rule(alice_api, delta=1)
        done = Execution.objects.filter(rule_ref=rule["ref"], status="succeeded")
        run_until(lambda: done.count() >= 2, timeout=15)
        off = alice_api.put(
            f"/api/v1/rules/{rule['id']}", {**rule, "enabled": False}, format="json"
        )
        assert off.status_code == 200
        time.sleep(1.2)  # a timer look that was already under way may still fire once
        settled = Execution.objects.filter(rule_ref=rule["ref"]).count()
        time.sleep(2.2)
        assert Execution.objects.filter(rule_ref=rule["ref"]).count() == settled
    finally:
        output = stop_worker_process(process)
    for execution in done:
        assert execution.result["stdout"] == execution.parameters["cmd"].removeprefix("echo ")
        assert execution.context["rule"]["name"] == "tick"
    ticks = fired_at(rule)
    assert len(ticks) == len(set(ticks)), output
