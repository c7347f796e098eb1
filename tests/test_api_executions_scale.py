"""GET /api/v1/executions at any size (issue 16, st2bridge/history.py): every filter's page is
read from an index in the list's order, never sorted (the plans, by EXPLAIN, on SQLite and on
PostgreSQL); X-Total-Count comes from the counts table, exact under inserts, status changes
and deletes however they are written, without counting executions; deep offsets give the
same pages as slicing the whole ordered list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from st2bridge import execution_counts, history, lifecycle
from st2bridge.models import Execution, ExecutionCount, ExecutionHour

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 1, tzinfo=UTC)
USERS = ("admin", "alice", "bob", "carol")
ACTIONS = [f"pack{n % 3}.action{n}" for n in range(12)]
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "running", "requested")
WEBHOOK, TIMER = "core.st2.webhook", "core.st2.IntervalTimer"
# StackStorm's `rule` and `trigger_type` filters take names, not refs.
WEBHOOK_NAME, TIMER_NAME = "st2.webhook", "st2.IntervalTimer"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def fill(count, start=START, step=timedelta(minutes=1), parents=()):
    """`count` executions, the newest at `start`, one every `step` going back, spread over
    USERS, ACTIONS and STATUSES; every 10th started by a rule (every 20th a timer's); every
    7th a child of one of `parents`. Inserted in bulk, as plain SQL would."""
    rows = []
    for number in range(count):
        by_rule = number % 10 == 0
        rows.append(
            Execution(
                action_ref=ACTIONS[number % len(ACTIONS)],
                action={"ref": ACTIONS[number % len(ACTIONS)]},
                runner={"name": "noop"},
                user=USERS[number % len(USERS)],
                context={"user": USERS[number % len(USERS)]},
                status=STATUSES[number % len(STATUSES)],
                start_timestamp=start - step * number,
                rule_ref=f"pack0.rule{number % 3}" if by_rule else "",
                trigger_type=(TIMER if number % 20 == 0 else WEBHOOK) if by_rule else "",
                trigger_instance_id=f"{number // 10:024x}" if by_rule else "",
                parent=parents[number % len(parents)] if parents and number % 7 == 0 else None,
            )
        )
    Execution.objects.bulk_create(rows, batch_size=2000)
    return rows


def listed(api, query):
    response = api.get(f"/api/v1/executions?{query}")
    assert response.status_code == 200, response.content
    return response


def ids(response):
    return [execution["id"] for execution in response.json()]


# --- plans ----------------------------------------------------------------------------------


def reads(api, query):
    """The SQL (and parameters) of every read of executions the list runs for `query`."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        listed(api, query)
    return [(sql, params) for sql, params in seen if 'FROM "st2bridge_execution"' in sql]


def explain(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(row[-1] for row in cursor.fetchall())


def problems(plan):
    """What is wrong with the plan of a page read: a sort, a table scan, no index of ours."""
    found = []
    if connection.vendor == "postgresql":
        if re.search(r"\bSort\b", plan):
            found.append("sorts")
        if "Seq Scan" in plan:
            found.append("scans the table")
        if not re.search(r"Index (Only )?Scan (Backward )?using execution_\w+", plan):
            found.append("uses none of the list's indexes")
    else:
        if "TEMP B-TREE" in plan:
            found.append("sorts")
        if not re.search(r"USING (COVERING )?INDEX execution_\w+", plan):
            found.append("uses none of the list's indexes")
    return found


def test_every_filter_reads_its_page_from_an_index_in_order(admin_api, alice_api):
    parents = fill(3, start=START + timedelta(days=1))
    fill(20_000, parents=parents)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE st2bridge_execution")  # as autovacuum does after a fill
    day = "2025-12-31T12:00:00.000000Z"
    queries = {
        "admin": [
            "",
            "offset=900",
            "offset=15000",  # past the middle: read from the other end
            "offset=9000",
            "offset=6000",
            "parent=null&offset=6000",
            "sort_asc=1&offset=900",
            f"action={ACTIONS[5]}",
            "status=failed",
            "status=requested&offset=900",
            "user=bob",
            "rule=rule1",
            f"trigger_type={TIMER_NAME}",
            f"trigger_instance={5:024x}",
            "parent=null",
            "parent=null&offset=900",
            f"parent={parents[0].id}",
            f"timestamp_gt={day}",
            f"timestamp_lt={day}",
            f"timestamp_gt=2025-12-20T00:00:00Z&timestamp_lt={day}",
            f"action={ACTIONS[3]}&timestamp_lt={day}",
            "status=failed&user=carol",
            # Not action_contains: no index finds part of a ref, and PostgreSQL, which cannot
            # tell how many rows such a LIKE matches, may scan and sort (bench/RESULTS.md).
        ],
        "alice": ["", "offset=900", f"action={ACTIONS[1]}", "status=failed", "parent=null"],
    }
    wrong = {}
    for caller, asked in queries.items():
        api = admin_api if caller == "admin" else alice_api
        for query in asked:
            pages = [read for read in reads(api, query) if "COUNT(" not in read[0]]
            assert pages, query
            for sql, params in pages:
                if "IN (" in sql and "LIMIT" not in sql:
                    continue  # the rows of a page read by id, once the page's ids are known
                plan = explain(sql, params)
                if problems(plan):
                    wrong[f"{caller} {query or '(no filter)'}"] = (problems(plan), plan)
    assert not wrong, "\n\n".join(f"{key}: {found}\n{plan}" for key, (found, plan) in wrong.items())


# --- X-Total-Count --------------------------------------------------------------------------

COUNTED_QUERIES = [
    "",
    "user=alice",
    f"action={ACTIONS[2]}",
    "status=succeeded",
    "status=running",
    "rule=rule1",
    f"trigger_type={WEBHOOK_NAME}",
    "parent=null",
    "action_contains=ACTION1",
    "user=bob&status=failed&parent=null",
]


def expected_total(caller, query):
    """The count of the rows themselves, for comparison."""
    selection = {
        "": {},
        "user=alice": {"user": "alice"},
        f"action={ACTIONS[2]}": {"action_ref": ACTIONS[2]},
        "status=succeeded": {"status": "succeeded"},
        "status=running": {"status": "running"},
        "rule=rule1": {"rule_ref": "pack0.rule1"},
        f"trigger_type={WEBHOOK_NAME}": {"trigger_type": WEBHOOK},
        "parent=null": {"parent__isnull": True},
        "action_contains=ACTION1": {"action_ref__icontains": "action1"},
        "user=bob&status=failed&parent=null": {
            "user": "bob",
            "status": "failed",
            "parent__isnull": True,
        },
    }[query]
    rows = Execution.objects.filter(**selection)
    return (rows if caller == "admin" else rows.filter(user=caller)).count()


def check_totals(admin_api, alice_api):
    for caller, api in (("admin", admin_api), ("alice", alice_api)):
        for query in COUNTED_QUERIES:
            total = listed(api, query)["X-Total-Count"]
            assert total == str(expected_total(caller, query)), (caller, query)
    # And the executions counted per hour (top level or not), for deep pages.
    counted = ExecutionHour.objects.values_list("hour", "top_level").annotate(total=Sum("n"))
    actual = (
        Execution.objects.annotate(hour=TruncHour("start_timestamp"), top=Q(parent=None))
        .values_list("hour", "top")
        .annotate(total=Count("id"))
    )
    assert {(h, t): n for h, t, n in counted if n} == {(h, t): n for h, t, n in actual}


def test_total_count_stays_exact_under_inserts_changes_and_deletes(admin_api, alice_api):
    check_totals(admin_api, alice_api)  # none yet
    parents = fill(5, start=START + timedelta(days=1))
    fill(300, parents=parents)
    check_totals(admin_api, alice_api)
    # Through the API, the ORM one by one, and plain SQL.
    for _ in range(3):
        response = alice_api.post("/api/v1/executions", {"action": "core.noop"}, format="json")
        assert response.status_code == 201
    one = Execution.objects.create(
        action_ref=ACTIONS[2], user="alice", status="requested", start_timestamp=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO st2bridge_execution (id, action_ref, action, runner, parameters, "
            'secret_parameters, status, "user", context, log, start_timestamp, worker, '
            "rule_ref, trigger_instance_id, origin) VALUES "
            "(%s, %s, '{}', '{}', '{}', '', 'running', 'alice', '{}', '[]', %s, '', '', '', '{}')",
            ["f" * 24, ACTIONS[2], START],
        )
    check_totals(admin_api, alice_api)
    # Status changes: a transition, a bulk update, several changes of one row in one UPDATE,
    # and a start moved to another hour.
    assert lifecycle.transition(one, "scheduled", only_from=("requested",))
    Execution.objects.filter(status="running", user="bob").update(status="failed")
    Execution.objects.filter(status="running", user="carol").update(
        start_timestamp=START - timedelta(days=3)
    )
    Execution.objects.filter(pk="f" * 24).update(status="succeeded", user="bob", rule_ref="r")
    Execution.objects.filter(rule_ref="pack0.rule1").update(trigger_type="other.type")
    check_totals(admin_api, alice_api)
    # Deletes: one, many, and a parent (its children become top level: SET_NULL).
    one.delete()
    Execution.objects.filter(action_ref=ACTIONS[4]).delete()
    parents[0].delete()
    check_totals(admin_api, alice_api)
    execution_counts.compact()  # PostgreSQL sums its rows of +n/-n; SQLite has nothing to do
    check_totals(admin_api, alice_api)
    Execution.objects.all().delete()
    check_totals(admin_api, alice_api)
    assert execution_counts.count(ExecutionCount.objects.all()) == 0
    assert ExecutionHour.objects.aggregate(total=Sum("n"))["total"] == 0


def test_total_count_reads_no_execution_for_the_counted_filters(admin_api, alice_api):
    fill(200)
    for api in (admin_api, alice_api):
        for query in COUNTED_QUERIES:
            counted = [sql for sql, _ in reads(api, query) if "COUNT(" in sql]
            assert counted == [], (query, counted)


def test_the_counts_are_a_few_rows_not_one_per_execution(admin_api):
    fill(2_000)
    execution_counts.compact()
    combinations = (
        Execution.objects.values_list("user", "action_ref", "status", "rule_ref", "trigger_type")
        .distinct()
        .count()
    )
    assert ExecutionCount.objects.count() == combinations < 200


def test_time_ranges_count_exactly_whatever_their_size(admin_api, monkeypatch):
    fill(500)  # one a minute, the newest at START
    monkeypatch.setattr(history, "COUNT_CAP", 50)  # so that each way of counting is taken

    def stamp(minutes_before_start):
        when = START - timedelta(minutes=minutes_before_start, seconds=30)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    for after, before in [(20, None), (480, None), (None, 20), (None, 480), (400, 100),
                          (490, 10), (250, 240), (10, 20), (600, None)]:  # fmt: skip
        query = {}
        rows = Execution.objects.all()
        if after is not None:
            query["timestamp_gt"] = stamp(after)
            rows = rows.filter(start_timestamp__gt=START - timedelta(minutes=after, seconds=30))
        if before is not None:
            query["timestamp_lt"] = stamp(before)
            rows = rows.filter(start_timestamp__lt=START - timedelta(minutes=before, seconds=30))
        for extra in ({}, {"status": "failed"}):
            response = admin_api.get("/api/v1/executions", {**query, **extra})
            expected = rows.filter(**extra).count()
            assert response["X-Total-Count"] == str(expected), (after, before, extra)


def test_the_triggers_are_installed_after_migrate_and_reinstalled_with_a_recount():
    assert set(execution_counts.NAMES) <= execution_counts.installed()
    fill(50)
    with connection.cursor() as cursor:  # as a migration that rebuilds the table on SQLite
        for name in execution_counts.installed():
            on = " ON st2bridge_execution" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER {name}{on}")
    fill(30, start=START + timedelta(days=1))  # not counted: no trigger
    assert execution_counts.count(ExecutionCount.objects.all()) == 50
    assert execution_counts.ensure() is True
    assert execution_counts.count(ExecutionCount.objects.all()) == 80
    assert execution_counts.ensure() is False  # there already: nothing to do
    fill(5, start=START + timedelta(days=2))
    assert execution_counts.count(ExecutionCount.objects.all()) == 85
    if connection.vendor == "postgresql":  # TRUNCATE fires no DELETE trigger: its own
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no FK check left pending
            cursor.execute("TRUNCATE st2bridge_execution CASCADE")
        assert execution_counts.count(ExecutionCount.objects.all()) == 0
        assert not ExecutionHour.objects.exists()


def test_recount_executions_repairs_counts_that_drifted(admin_api):
    fill(40)
    ExecutionCount.objects.update(n=999)  # as after writes with the triggers disabled
    ExecutionHour.objects.update(n=7)
    assert listed(admin_api, "")["X-Total-Count"] != "40"
    call_command("recount_executions")
    assert listed(admin_api, "")["X-Total-Count"] == "40"
    assert ExecutionHour.objects.aggregate(total=Sum("n"))["total"] == 40
    fill(2, start=START + timedelta(days=1))  # and the triggers count on
    assert listed(admin_api, "")["X-Total-Count"] == "42"


# --- pages -----------------------------------------------------------------------------------


def test_every_offset_gives_the_page_of_the_whole_ordered_list(admin_api, alice_api, monkeypatch):
    monkeypatch.setattr(history, "SEEK_FROM", 3)  # deep pages found by hours from offset 3
    parents = fill(2, start=START + timedelta(days=1))
    fill(230, step=timedelta(minutes=7), parents=parents)  # 27 hours
    fill(6, start=START - timedelta(seconds=30), step=timedelta(0))  # the same microsecond
    fill(4, start=START - timedelta(hours=5), step=timedelta(0))  # at the start of an hour
    every = sorted(Execution.objects.all(), key=lambda e: e.id)
    every.sort(key=lambda e: e.start_timestamp, reverse=True)  # newest first, ties by id
    top = [e for e in every if e.parent_id is None]
    for api, visible, query in (
        (admin_api, every, ""),
        (admin_api, top, "parent=null"),
        (alice_api, [e for e in every if e.user == "alice"], ""),
    ):
        for order, expected in (("", visible), ("&sort_asc=1", visible[::-1])):
            for offset in (0, 1, 3, 7, 49, 50, 100, 110, 117, 118, 180, 200, 239, 241, 242, 300):
                for limit in (1, 10, 50):
                    page = listed(api, f"{query}{order}&offset={offset}&limit={limit}")
                    wanted = [e.id for e in expected[offset : offset + limit]]
                    assert ids(page) == wanted, (query, order, offset, limit)
                    assert page["X-Total-Count"] == str(len(expected))
    failed = [e.id for e in every if e.status == "failed"]
    assert ids(listed(admin_api, "status=failed&offset=30&limit=5")) == failed[30:35]
    assert ids(listed(admin_api, "status=failed&offset=5&limit=5")) == failed[5:10]


def skipped(api, query):
    """The OFFSET of the read of a page's ids."""
    [sql] = [sql for sql, _ in reads(api, query) if "LIMIT" in sql and "COUNT(" not in sql]
    found = re.search(r"LIMIT \d+(?: OFFSET (\d+))?$", sql)
    return int(found[1] or 0)


def test_a_deep_page_skips_at_most_an_hours_executions(admin_api, alice_api):
    fill(12_000)  # one a minute: 200 hours
    assert skipped(admin_api, "offset=11990&limit=5") == 5  # past the middle: from the end
    assert skipped(admin_api, "offset=900&limit=5") == 900  # under SEEK_FROM: in the index
    assert skipped(admin_api, "offset=9000&limit=5") == 2995  # from the end, under SEEK_FROM
    for offset in (5_000, 6_001):  # found by hours, from the start or from the end
        assert skipped(admin_api, f"offset={offset}&limit=5") < 60, offset
        assert skipped(admin_api, f"offset={offset}&parent=null&sort_asc=1") < 60, offset
    assert skipped(admin_api, "offset=1500&limit=5&status=failed") == 495  # 2,000: from the end
    assert skipped(alice_api, "offset=1000&limit=5") == 1000  # theirs: in the index


def test_trigger_type_filter_finds_the_executions_of_rules_of_that_type(alice_api):
    rule = {
        "name": "on_hook",
        "pack": "demo",
        "enabled": True,
        "trigger": {"type": WEBHOOK, "parameters": {"url": "deploy"}},
        "action": {"ref": "core.noop"},
    }
    assert alice_api.post("/api/v1/rules", rule, format="json").status_code == 201
    assert alice_api.post("/api/v1/webhooks/deploy", {}, format="json").status_code == 202
    alice_api.post("/api/v1/executions", {"action": "core.noop"}, format="json")
    [by_rule] = listed(alice_api, f"trigger_type={WEBHOOK_NAME}").json()
    assert by_rule["rule"]["ref"] == "demo.on_hook"
    assert Execution.objects.get(pk=by_rule["id"]).trigger_type == WEBHOOK
    assert listed(alice_api, f"trigger_type={TIMER_NAME}").json() == []
    assert listed(alice_api, f"trigger_type={WEBHOOK_NAME}")["X-Total-Count"] == "1"


def test_hour_at_finds_the_hour_of_every_rank(admin_api):
    parents = fill(3, start=START + timedelta(days=1))
    fill(300, step=timedelta(minutes=13), parents=parents)  # 65 hours, 4 days
    rows = list(Execution.objects.values_list("start_timestamp", "parent_id"))
    for top_level_only in (False, True):
        starts = sorted(s for s, parent in rows if parent is None or not top_level_only)
        for newest_first in (True, False):
            ordered = starts[::-1] if newest_first else starts
            hours = [s.replace(minute=0, second=0, microsecond=0) for s in ordered]
            for rank in range(len(hours)):
                expected = (hours[rank], hours.index(hours[rank]))
                found = execution_counts.hour_at(rank, newest_first, top_level_only)
                assert found == expected, (rank, newest_first, top_level_only)
            assert execution_counts.hour_at(len(hours), newest_first, top_level_only) is None
