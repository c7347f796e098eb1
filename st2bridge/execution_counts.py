"""Exact counts of executions without counting them (issue 16): the table of
st2bridge.models.ExecutionCount holds how many executions there are of each combination of
the values the list filters on, and database triggers keep it exact in the transaction of
every INSERT, UPDATE and DELETE of an execution, whoever writes it: the ORM, a bulk insert,
plain SQL, a cascade. So X-Total-Count is a sum over a few hundred rows however many
executions there are (st2bridge.history).

- SQLite (one writer at a time): one row per combination, upserted by row triggers.
- PostgreSQL (concurrent writers): every change appends rows of +n/-n and updates none, so
  two transactions never wait on (or deadlock over) a counter row; INSERT and DELETE
  statements add one row per combination they touch (statement triggers, so a bulk insert
  of a million rows adds a handful). compact() sums the rows of each combination into one;
  the worker calls it every few seconds.

The triggers are installed by ensure() after every `migrate` (st2bridge.apps), not by a
migration: on SQLite, Django alters a table by building a new one and dropping the old,
which drops its triggers. When ensure() finds them missing (or of an older version), it
installs them and recounts the table in one transaction that holds off writers.

All the SQL here is built from the models' own table and column names: no value goes into
its text (ruff's S608 and bandit's B608 are told so, line by line for bandit)."""
# ruff: noqa: S608

import logging

from django.db import connection, transaction
from django.db.models import Sum

from .models import Execution, ExecutionCount

log = logging.getLogger(__name__)

# The columns of a combination in the counts table; from an execution row, the first five are
# its columns of the same name and `top_level` is whether its parent_id is NULL.
DIMENSIONS = ("user", "action_ref", "status", "rule_ref", "trigger_type", "top_level")
WATCHED = ("user", "action_ref", "status", "rule_ref", "trigger_type", "parent_id")
VERSION = "v1"  # in the triggers' names: a change of their SQL renames them, and so reinstalls
PREFIX = "execution_counts_"
NAMES = tuple(f"{PREFIX}{VERSION}_{event}" for event in ("insert", "update", "delete"))

COUNTS = ExecutionCount._meta.db_table
EXECUTIONS = Execution._meta.db_table


def count(counts):
    """The number of executions a queryset of ExecutionCount rows (narrowed to the wanted
    combinations) adds up to."""
    return counts.aggregate(total=Sum("n"))["total"] or 0


def _q(name):
    return connection.ops.quote_name(name)


def _columns():
    return ", ".join(_q(name) for name in DIMENSIONS)


def _combination(row=None):
    """The combination of an execution row as SQL expressions: of NEW or OLD in a trigger
    (or a transition table), else of the row being read."""
    prefix = f"{row}." if row else ""
    return [f"{prefix}{_q(name)}" for name in WATCHED[:-1]] + [
        f"({prefix}{_q('parent_id')} IS NULL)"
    ]


def _values(row):
    return ", ".join(_combination(row))


def _changed():
    """SQL: the UPDATE changed the combination of the row."""
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{_q(name)} {differs} NEW.{_q(name)}" for name in WATCHED)


def _watched():
    return ", ".join(_q(name) for name in WATCHED)


# --- SQLite: one row per combination, kept by row triggers -----------------------------------


def _sqlite_statements():
    insert, update, delete = NAMES
    columns = _columns()
    upsert = f"ON CONFLICT ({columns}) DO UPDATE SET n = n + 1"  # nosec B608
    matches_old = " AND ".join(
        f"{_q(name)} = {expression}"
        for name, expression in zip(DIMENSIONS, _combination("OLD"), strict=True)
    )
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {PREFIX}one_row ON {COUNTS} ({columns})",
        f"CREATE TRIGGER {insert} AFTER INSERT ON {EXECUTIONS} BEGIN "  # nosec B608
        f"INSERT INTO {COUNTS} ({columns}, n) VALUES ({_values('NEW')}, 1) {upsert}; END",
        f"CREATE TRIGGER {update} AFTER UPDATE OF {_watched()} ON {EXECUTIONS} "  # nosec B608
        f"WHEN {_changed()} BEGIN "
        f"UPDATE {COUNTS} SET n = n - 1 WHERE {matches_old}; "
        f"INSERT INTO {COUNTS} ({columns}, n) VALUES ({_values('NEW')}, 1) {upsert}; END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {EXECUTIONS} BEGIN "  # nosec B608
        f"UPDATE {COUNTS} SET n = n - 1 WHERE {matches_old}; END",
    ]


# --- PostgreSQL: rows of +n/-n, appended by triggers, summed by compact() ------------------


def _postgresql_statements():
    insert, update, delete = NAMES
    columns = _columns()
    grouped = ", ".join(str(number) for number in range(1, len(DIMENSIONS) + 1))

    def function(name, body):
        return (
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$"
        )

    def per_statement(name, table, sign):
        body = (
            f"INSERT INTO {COUNTS} ({columns}, n) "  # nosec B608
            f"SELECT {_values(table)}, {sign}count(*) FROM {table} GROUP BY {grouped}"
        )
        event = "INSERT" if table == "NEW_ROWS" else "DELETE"
        kind = "NEW" if table == "NEW_ROWS" else "OLD"
        return [
            function(name, body),
            f"CREATE TRIGGER {name} AFTER {event} ON {EXECUTIONS} "
            f"REFERENCING {kind} TABLE AS {table} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]

    rows = f"({_values('OLD')}, -1), ({_values('NEW')}, 1)"
    changed = f"INSERT INTO {COUNTS} ({columns}, n) VALUES {rows}"  # nosec B608
    truncate = f"{PREFIX}{VERSION}_truncate"
    return [
        *per_statement(insert, "NEW_ROWS", ""),
        *per_statement(delete, "OLD_ROWS", "-"),
        function(update, changed),
        f"CREATE TRIGGER {update} AFTER UPDATE OF {_watched()} ON {EXECUTIONS} "
        f"FOR EACH ROW WHEN ({_changed()}) EXECUTE FUNCTION {update}()",
        function(truncate, f"DELETE FROM {COUNTS}"),  # nosec B608
        f"CREATE TRIGGER {truncate} AFTER TRUNCATE ON {EXECUTIONS} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {truncate}()",
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


def ensure():
    """Install the triggers of this version and recount, unless they are there already.
    True if it installed them."""
    if set(NAMES) <= installed():
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Writers wait until the triggers are in and the counts are right.
            cursor.execute(f"LOCK TABLE {EXECUTIONS} IN SHARE ROW EXCLUSIVE MODE")
        for name in installed():  # another version's, or part of this one's
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}" + _on_table())
        statements = (
            _postgresql_statements() if connection.vendor == "postgresql" else _sqlite_statements()
        )
        for statement in statements:
            cursor.execute(statement)
        recount(cursor)
    log.info("Installed the execution count triggers (%s) and recounted", VERSION)
    return True


def _on_table():
    return f" ON {EXECUTIONS}" if connection.vendor == "postgresql" else ""


def recount(cursor):
    """Count every combination afresh (in the caller's transaction)."""
    sources = ", ".join(_combination())
    cursor.execute(f"DELETE FROM {COUNTS}")  # noqa: S608  # nosec B608 - our table names
    cursor.execute(
        f"INSERT INTO {COUNTS} ({_columns()}, n) SELECT {sources}, count(*) "  # noqa: S608  # nosec B608
        f"FROM {EXECUTIONS} GROUP BY {sources}"
    )


def compact():
    """PostgreSQL: sum the rows of each combination that has more than one (or one of 0)
    into one. Concurrent changes are safe: the DELETE removes, and its RETURNING sums, exactly
    the rows its snapshot sees; rows committed meanwhile stay, to be summed next time.
    SQLite has one row per combination already. Returns the number of rows removed."""
    if connection.vendor != "postgresql":
        return 0
    columns = _columns()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH merged AS (DELETE FROM {COUNTS} WHERE ({columns}) IN ("  # noqa: S608  # nosec B608
            f"SELECT {columns} FROM {COUNTS} GROUP BY {columns} "
            f"HAVING count(*) > 1 OR sum(n) = 0) RETURNING {columns}, n), "
            f"summed AS (INSERT INTO {COUNTS} ({columns}, n) SELECT {columns}, sum(n) "
            f"FROM merged GROUP BY {columns} HAVING sum(n) <> 0 RETURNING 1) "
            f"SELECT (SELECT count(*) FROM merged) - (SELECT count(*) FROM summed)"
        )
        return cursor.fetchone()[0]
