"""Retention (issue 18): rows older than their table's TTL setting (days; 0 keeps for ever) are
purged, as StackStorm's garbage collector does, by the worker a little at a time (`purge`
with a time budget, every PURGE_INTERVAL) and by `manage.py purge` all at once.

Rows go in batches chosen by primary key: the ids are selected first (a read, which never waits
for SQLite's writer in WAL mode), then deleted by id, each batch its own short transaction.
Each batch is timed: over half of BATCH_TARGET (10 ms) the next batch is halved, under a fifth
of it doubled, so batches stay well inside the target and the write lock is never held long;
the purge sleeps as long as a batch took before the next one, leaving the lock free at least
half the time. On SQLite the WAL is checkpointed between batches, not inside one.

What is never purged: executions not yet completed, and the parents of any execution that is
kept (an execution goes only when it has no child left, so a tree goes leaves first). An
execution's output goes with it. Rule enforcements and executions refer to trigger instances
and executions by id only (as in StackStorm): a purged one is a 404 when followed, never an
error, and each keeps its own TTL.
"""

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import takewhile

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import (
    AuditRecord,
    Execution,
    ExecutionOutput,
    RuleEnforcement,
    StreamEvent,
    TimerFiring,
    Token,
    TriggerInstance,
)

BATCH_TARGET = 0.010  # seconds one batch may hold the write lock
FIRST_BATCH = 50  # rows; adapted to BATCH_TARGET as batches are timed
MAX_BATCH = 250  # 500 took over 10 ms one batch in 9 on a busy 2-core machine; 250, 1 in 50
CHECKPOINT_EVERY = 0.1  # seconds of purging between checkpoints of SQLite's WAL
# The worker purges every PURGE_INTERVAL for at most WORKER_BUDGET: with nothing old, a call is
# one short query per table; with a backlog, 5% of the worker's time, about 2,000 stream events
# a second (bench/RESULTS.md), and a requested execution may wait up to the budget.
PURGE_INTERVAL = 10  # seconds
WORKER_BUDGET = 0.5  # seconds per call, shared by the tables


@dataclass(frozen=True)
class Table:
    """One purged table: `setting` names its TTL; `old(cutoff)` is the queryset of rows past
    it; `oldest(cutoff, limit)` the ids of the next batch."""

    name: str
    setting: str
    model: type
    when: str  # the time field compared with the cutoff

    def ttl(self):
        return getattr(settings, self.setting)

    def old(self, cutoff):
        return self.model.objects.filter(**{f"{self.when}__lt": cutoff})

    def oldest(self, cutoff, limit):
        return list(self.old(cutoff).order_by(self.when).values_list("pk", flat=True)[:limit])

    def would_purge(self, cutoff):
        return self.old(cutoff).count()

    def delete(self, ids):
        return self.model.objects.filter(pk__in=ids).delete()[0]


class AppendOnlyTable(Table):
    """A table whose ids grow with its time field (rows written once, stamped on insert): the
    next batch is the oldest rows by id, up to the first one inside the TTL, so finding it
    reads about `limit` rows, with no index on the time field and no scan of young rows."""

    def oldest(self, cutoff, limit):
        rows = self.model.objects.order_by("pk").values_list("pk", self.when)[:limit]
        return [pk for pk, at in takewhile(lambda row: row[1] < cutoff, rows)]


class ExecutionTable(Table):
    def old(self, cutoff):
        return Execution.objects.filter(status__in=Execution.COMPLETED, start_timestamp__lt=cutoff)

    def oldest(self, cutoff, limit):
        # Leaves only: a parent goes in a later batch, once its children have gone.
        leaves = self.old(cutoff).filter(~Exists(Execution.objects.filter(parent=OuterRef("pk"))))
        return list(leaves.order_by("start_timestamp").values_list("pk", flat=True)[:limit])

    def would_purge(self, cutoff):
        """The old completed executions less the ancestors of any execution that stays."""
        old = self.old(cutoff)
        kept_with_parent = Execution.objects.filter(parent__isnull=False).exclude(
            pk__in=old.values("pk")
        )
        kept, parents = set(), set(kept_with_parent.values_list("parent_id", flat=True))
        while parents - kept:
            kept |= parents
            parents = set(
                Execution.objects.filter(pk__in=parents, parent__isnull=False).values_list(
                    "parent_id", flat=True
                )
            )
        return old.count() - old.filter(pk__in=kept).count()

    def delete(self, ids):
        return Execution.objects.filter(pk__in=ids).delete()[1].get("st2bridge.Execution", 0)


TABLES = (
    ExecutionTable("executions", "ST2_ACTION_EXECUTIONS_TTL", Execution, "start_timestamp"),
    AppendOnlyTable(
        "execution output", "ST2_ACTION_EXECUTIONS_OUTPUT_TTL", ExecutionOutput, "timestamp"
    ),
    Table("trigger instances", "ST2_TRIGGER_INSTANCES_TTL", TriggerInstance, "occurrence_time"),
    Table("rule enforcements", "ST2_RULE_ENFORCEMENTS_TTL", RuleEnforcement, "enforced_at"),
    AppendOnlyTable("stream events", "ST2_STREAM_EVENTS_TTL", StreamEvent, "created_at"),
    # Ticks are looked for within triggers.MISFIRE_GRACE (minutes) of now, so a firing older
    # than a day guards nothing.
    Table("timer firings", "ST2_TIMER_FIRINGS_TTL", TimerFiring, "due_at"),
    # Tokens expired more than the TTL ago: an expired token authenticates nothing already.
    Table("expired tokens", "ST2_EXPIRED_TOKENS_TTL", Token, "expiry"),
    # The only deletion of audit records there is (st2bridge.audit): by queryset, by age.
    AppendOnlyTable("audit records", "ST2_AUDIT_RECORDS_TTL", AuditRecord, "at"),
)


@dataclass
class Report:
    """What one purge did to one table (or would do, in a dry run)."""

    table: str
    setting: str
    ttl: int
    cutoff: object = None
    purged: int = 0
    batches: list = field(default_factory=list)  # (rows, seconds) of each batch

    @property
    def max_batch_seconds(self):
        return max((seconds for _, seconds in self.batches), default=0.0)


def purge(now=None, budget=WORKER_BUDGET, batch=FIRST_BATCH, dry_run=False, tables=TABLES):
    """Purge every table with a TTL; returns a Report per table. `budget`: seconds the call
    may take (None: until done), each table given an equal share of what the tables before it
    left; `batch`: the first batch's size."""
    now = now or timezone.now()
    deadline = None if budget is None else time.monotonic() + budget
    reports = [Report(table.name, table.setting, table.ttl()) for table in tables]
    with _checkpoints_between_batches(enabled=not dry_run) as checkpoint:
        for done, (table, report) in enumerate(zip(tables, reports, strict=True)):
            if not report.ttl:
                continue
            report.cutoff = now - timedelta(days=report.ttl)
            if dry_run:
                report.purged = table.would_purge(report.cutoff)
                continue
            share = None
            if deadline is not None:
                share = time.monotonic() + (deadline - time.monotonic()) / (len(tables) - done)
            while share is None or time.monotonic() < share:
                ids = table.oldest(report.cutoff, batch)
                if not ids:
                    break
                batch = _timed_batch(table, ids, report, batch)
                checkpoint()
    return reports


@contextmanager
def _no_garbage_collection():
    """Python's collector held off while a batch holds the write lock: a full collection in
    a process holding many objects may take tens of milliseconds. It runs after, if due."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _timed_batch(table, ids, report, batch):
    """Delete one batch; returns the size of the next."""
    with _no_garbage_collection(), transaction.atomic():
        # On SQLite the atomic block's BEGIN IMMEDIATE has taken the write lock (having waited
        # for another writer to let it go): from here to COMMIT is how long the batch holds it.
        started = time.monotonic()
        deleted = table.delete(ids)
    took = time.monotonic() - started
    report.purged += deleted
    report.batches.append((deleted, took))
    time.sleep(took)  # others get the write lock at least as long as the purge had it
    if took > BATCH_TARGET / 2:
        return max(1, batch // 2)
    if took < BATCH_TARGET / 5:
        return min(MAX_BATCH, batch * 2)
    return batch


@contextmanager
def _checkpoints_between_batches(enabled):
    """On SQLite, the commit that grows the WAL past 1,000 pages copies it into the database
    (an automatic checkpoint, often over 10 ms) before it returns, and right after a full
    checkpoint the next commit starts the WAL over (about 1 ms): the purge's connection turns
    automatic checkpoints off and checkpoints itself between batches, every CHECKPOINT_EVERY,
    PASSIVE (waiting for no reader or writer, without the write lock). Not inside a
    transaction (a test's), where a checkpoint can do nothing."""
    if not enabled or connection.vendor != "sqlite" or connection.in_atomic_block:
        yield lambda: None
        return
    [pages] = _pragma("wal_autocheckpoint")
    _pragma("wal_autocheckpoint=0")
    last = time.monotonic()

    def checkpoint():
        nonlocal last
        if time.monotonic() - last >= CHECKPOINT_EVERY:
            _pragma("wal_checkpoint(PASSIVE)")
            last = time.monotonic()

    try:
        yield checkpoint
    finally:
        _pragma(f"wal_autocheckpoint={int(pages)}")


def _pragma(statement):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {statement}")
        return cursor.fetchone()  # read, so that no statement stays in progress
