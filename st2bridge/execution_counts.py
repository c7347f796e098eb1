"""Exact counts of executions without counting them (issue 16). Two tables of counts, kept
exact by database triggers in the transaction of every INSERT, UPDATE and DELETE of an
execution, whoever writes it (the ORM, a bulk insert, plain SQL, a cascade):

- st2bridge.models.ExecutionCount: how many executions there are of each combination of the
  values the list filters on. X-Total-Count is a sum over a few hundred rows, however many
  executions there are (st2bridge.history).
- st2bridge.models.ExecutionHour: how many started in each hour (top level or not). A deep
  page of the whole history is found by adding up days, then hours (hour_at()), then
  skipping at most an hour's executions in the index, instead of every one before it.

- SQLite (one writer at a time): one row per combination or hour, upserted by row triggers.
- PostgreSQL (concurrent writers): every change appends rows of +n/-n and updates none, so
  two transactions never wait on (or deadlock over) a counter row; INSERT and DELETE
  statements add one row per combination they touch (statement triggers, so a bulk insert
  of a million rows adds a few hundred). compact() sums the rows of each combination into
  one; the worker calls it every few seconds.

The triggers are installed by ensure() after every `migrate` (st2bridge.apps), not by a
migration: on SQLite, Django alters a table by building a new one and dropping the old,
which drops its triggers. When ensure() finds them missing (or of an older version), it
installs them and recounts in one transaction that holds off writers.

All the SQL here is built from the models' own table and column names: no value goes into
its text (ruff's S608 and bandit's B608 are told so, line by line for bandit)."""
# ruff: noqa: S608

import logging
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Sum

from .models import Execution, ExecutionCount, ExecutionHour

log = logging.getLogger(__name__)

VERSION = "v3"  # in the triggers' names: a change of their SQL renames them, and so reinstalls
PREFIX = "execution_counts_"
EXECUTIONS = Execution._meta.db_table
HOUR = timedelta(hours=1)  # the span of an ExecutionHour


def _q(name):
    return connection.ops.quote_name(name)


class Tally:
    """A table of counts: its key columns, each an SQL expression of an execution row, and
    the execution columns whose change moves a row to another key."""

    def __init__(self, model, name, columns, watched):
        self.table = model._meta.db_table
        self.name = name
        self.columns = columns  # {column: function(prefix) -> SQL expression}
        self.watched = watched

    def expressions(self, row=None):
        """The key of execution `row` (NEW, OLD, a transition table; None: the row read)."""
        prefix = f"{row}." if row else ""
        return [expression(prefix) for expression in self.columns.values()]

    def column_list(self):
        return ", ".join(_q(name) for name in self.columns)

    def update_trigger(self):
        return f"{PREFIX}{VERSION}_{self.name}_update"


def _column(name):
    return lambda prefix: f"{prefix}{_q(name)}"


def _top_level(prefix):
    return f"({prefix}{_q('parent_id')} IS NULL)"


def _hour(prefix):
    started = f"{prefix}{_q('start_timestamp')}"
    if connection.vendor == "postgresql":
        return f"(date_trunc('hour', {started} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    return f"strftime('%Y-%m-%d %H:00:00', {started})"  # Django's text form of a datetime


FILTERED = ("user", "action_ref", "status", "rule_ref", "trigger_type")
COUNTS = Tally(
    ExecutionCount,
    "combinations",
    {**{name: _column(name) for name in FILTERED}, "top_level": _top_level},
    watched=(*FILTERED, "parent_id"),
)
HOURS = Tally(
    ExecutionHour,
    "hours",
    {"hour": _hour, "top_level": _top_level},
    watched=("start_timestamp", "parent_id"),
)
TALLIES = (COUNTS, HOURS)
INSERT, DELETE, TRUNCATE = (
    f"{PREFIX}{VERSION}_{event}" for event in ("insert", "delete", "truncate")
)
NAMES = (INSERT, DELETE, *(tally.update_trigger() for tally in TALLIES))  # TRUNCATE: PostgreSQL


def count(counts):
    """The number of executions a queryset of ExecutionCount rows (narrowed to the wanted
    combinations) adds up to."""
    return counts.aggregate(total=Sum("n"))["total"] or 0


# --- SQLite: one row per key, kept by row triggers ---------------------------------------


def _sqlite_add(tally):
    columns, new = tally.column_list(), ", ".join(tally.expressions("NEW"))
    upsert = f"ON CONFLICT ({columns}) DO UPDATE SET n = n + 1"  # nosec B608
    return f"INSERT INTO {tally.table} ({columns}, n) VALUES ({new}, 1) {upsert};"  # nosec B608


def _sqlite_remove(tally):
    matches_old = " AND ".join(
        f"{_q(name)} = {expression}"
        for name, expression in zip(tally.columns, tally.expressions("OLD"), strict=True)
    )
    return f"UPDATE {tally.table} SET n = n - 1 WHERE {matches_old};"  # nosec B608


def _sqlite_statements():
    """One trigger per event (one per tally for updates, which watch other columns)."""
    statements = [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {tally.table}_one_row "
        f"ON {tally.table} ({tally.column_list()})"
        for tally in TALLIES
    ]
    added = " ".join(_sqlite_add(tally) for tally in TALLIES)
    removed = " ".join(_sqlite_remove(tally) for tally in TALLIES)
    statements += [
        f"CREATE TRIGGER {INSERT} AFTER INSERT ON {EXECUTIONS} BEGIN {added} END",
        f"CREATE TRIGGER {DELETE} AFTER DELETE ON {EXECUTIONS} BEGIN {removed} END",
    ]
    for tally in TALLIES:
        changed = " OR ".join(f"OLD.{_q(name)} IS NOT NEW.{_q(name)}" for name in tally.watched)
        watched = ", ".join(_q(name) for name in tally.watched)
        statements.append(
            f"CREATE TRIGGER {tally.update_trigger()} AFTER UPDATE OF {watched} "
            f"ON {EXECUTIONS} WHEN {changed} "
            f"BEGIN {_sqlite_remove(tally)} {_sqlite_add(tally)} END"
        )
    return statements


# --- PostgreSQL: rows of +n/-n, appended by triggers, summed by compact() ------------------


def _function(name, body):
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body}; RETURN NULL; END $$"
    )


def _postgresql_statements():
    """Statement triggers for INSERT and DELETE (a row per key a statement touches, in
    each tally), a row trigger per tally for the UPDATEs that move a row to another key,
    and TRUNCATE empties the tallies."""
    statements = []
    for name, event, rows, sign in ((INSERT, "INSERT", "NEW_ROWS", ""),
                                    (DELETE, "DELETE", "OLD_ROWS", "-")):  # fmt: skip
        body = "; ".join(
            f"INSERT INTO {tally.table} ({tally.column_list()}, n) "  # nosec B608
            f"SELECT {', '.join(tally.expressions(rows))}, {sign}count(*) FROM {rows} "
            f"GROUP BY {', '.join(str(number) for number in range(1, len(tally.columns) + 1))}"
            for tally in TALLIES
        )
        statements += [
            _function(name, body),
            f"CREATE TRIGGER {name} AFTER {event} ON {EXECUTIONS} REFERENCING {rows[:3]} "
            f"TABLE AS {rows} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    for tally in TALLIES:
        name = tally.update_trigger()
        old, new = ", ".join(tally.expressions("OLD")), ", ".join(tally.expressions("NEW"))
        moved = f"INSERT INTO {tally.table} ({tally.column_list()}, n) VALUES "  # nosec B608
        changed = " OR ".join(
            f"OLD.{_q(column)} IS DISTINCT FROM NEW.{_q(column)}" for column in tally.watched
        )
        statements += [
            _function(name, f"{moved} ({old}, -1), ({new}, 1)"),
            f"CREATE TRIGGER {name} AFTER UPDATE OF {', '.join(map(_q, tally.watched))} "
            f"ON {EXECUTIONS} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}()",
        ]
    emptied = "; ".join(f"DELETE FROM {tally.table}" for tally in TALLIES)  # nosec B608
    return [
        *statements,
        _function(TRUNCATE, emptied),
        f"CREATE TRIGGER {TRUNCATE} AFTER TRUNCATE ON {EXECUTIONS} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE}()",
    ]


# --- installing, recounting, compacting ------------------------------------------------------


def installed():
    """The names of the count triggers on the executions table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
                [EXECUTIONS, f"{PREFIX}%"],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
                "AND name LIKE %s",
                [EXECUTIONS, f"{PREFIX}%"],
            )
        return {row[0] for row in cursor.fetchall()}


def ensure(force=False):
    """Install the triggers of this version and recount, unless they are there already
    (`force`: in any case: `manage.py recount_executions`, after executions were written
    with triggers disabled). True if it installed them."""
    if not force and set(NAMES) <= installed():
        return False
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            # Writers wait until the triggers are in and the counts are right.
            cursor.execute(f"LOCK TABLE {EXECUTIONS} IN SHARE ROW EXCLUSIVE MODE")
        for name in installed():  # another version's, or part of this one's
            on_table = f" ON {EXECUTIONS}" if postgresql else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}{on_table}")
        for statement in _postgresql_statements() if postgresql else _sqlite_statements():
            cursor.execute(statement)
        for tally in TALLIES:
            _recount(cursor, tally)
    log.info("Installed the execution count triggers (%s) and recounted", VERSION)
    return True


def _recount(cursor, tally):
    """Count every key afresh (in the caller's transaction)."""
    keys = ", ".join(tally.expressions())
    cursor.execute(f"DELETE FROM {tally.table}")  # nosec B608
    cursor.execute(
        f"INSERT INTO {tally.table} ({tally.column_list()}, n) "  # nosec B608
        f"SELECT {keys}, count(*) FROM {EXECUTIONS} GROUP BY {keys}"
    )


def compact():
    """PostgreSQL: sum the rows of each key that has more than one (or one of 0) into one.
    Concurrent changes are safe: the DELETE removes, and its RETURNING sums, exactly the rows
    its snapshot sees; rows committed meanwhile stay, to be summed next time. SQLite has one
    row per key already. Returns the number of rows removed."""
    if connection.vendor != "postgresql":
        return 0
    removed = 0
    with connection.cursor() as cursor:
        for tally in TALLIES:
            columns, table = tally.column_list(), tally.table
            cursor.execute(
                f"WITH merged AS (DELETE FROM {table} WHERE ({columns}) IN ("  # nosec B608
                f"SELECT {columns} FROM {table} GROUP BY {columns} "
                f"HAVING count(*) > 1 OR sum(n) = 0) RETURNING {columns}, n), "
                f"summed AS (INSERT INTO {table} ({columns}, n) SELECT {columns}, sum(n) "
                f"FROM merged GROUP BY {columns} HAVING sum(n) <> 0 RETURNING 1) "
                f"SELECT (SELECT count(*) FROM merged) - (SELECT count(*) FROM summed)"
            )
            removed += cursor.fetchone()[0]
    return removed


# --- deep pages --------------------------------------------------------------------------


def hour_at(rank, newest_first, top_level_only):
    """Where the execution at `rank` (0: the first) of the whole history, newest or oldest
    first, is: (the hour it started in, how many executions come before that hour in that
    order); None past the end. The days are added up first (the database sums the hours of
    each, about 365 rows a year reach Python), then the hours of the day the rank falls in:
    3 ms for the middle of a year, where adding up all its 8,760 hours in Python took 20."""
    direction = "DESC" if newest_first else "ASC"
    top_level = f"{_q('top_level')} AND " if top_level_only else ""
    hour = _q("hour")
    if connection.vendor == "postgresql":
        day = f"date_trunc('day', {hour} AT TIME ZONE 'UTC')"
    else:
        day = f"substr({hour}, 1, 10)"  # Django's text form: YYYY-MM-DD HH:MM:SS
    found = _walk(
        f"SELECT {day}, SUM(n) FROM {HOURS.table} WHERE {top_level}TRUE "  # nosec B608
        f"GROUP BY 1 ORDER BY 1 {direction}",
        [],
        rank,
        0,
    )
    if found is None:
        return None
    day_start, before = found
    if isinstance(day_start, str):  # SQLite: YYYY-MM-DD, compared as text
        first = datetime.fromisoformat(day_start)
        bounds = [day_start, (first + timedelta(days=1)).date().isoformat()]
    else:
        first = day_start.replace(tzinfo=UTC)
        bounds = [first, first + timedelta(days=1)]
    found = _walk(
        f"SELECT {hour}, SUM(n) FROM {HOURS.table} "  # nosec B608
        f"WHERE {top_level}{hour} >= %s AND {hour} < %s GROUP BY 1 ORDER BY 1 {direction}",
        bounds,
        rank,
        before,
    )
    if found is None:  # counts changed between the two reads: no shortcut this time
        return None
    started, before = found
    if isinstance(started, str):  # SQLite's text form of a UTC datetime
        started = datetime.fromisoformat(started)
    return started if started.tzinfo else started.replace(tzinfo=UTC), before


def _walk(sql, params, rank, before):
    """(key, executions before it) of the first (key, count) row of `sql` at which the
    counts, added to `before`, pass `rank`; None if they never do."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, count in cursor.fetchall():
            if before + count > rank:
                return key, before
            before += count
    return None
