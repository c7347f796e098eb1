"""Write transactions of the hot paths (webhook dispatch, the worker's claims and
transitions, launches), queued across processes on SQLite.

SQLite has one write lock. A writer that finds it taken waits in SQLite's busy handler,
which sleeps 1, 2, 5, 10, 15 ... up to 100 ms between tries: under load (bench/rules.py:
two web processes and the worker writing several hundred times a second) a writer slept
10-20 ms on average at BEGIN, while the lock itself was free most of that time. Here
writers first queue on an exclusive flock of a file beside the database: the kernel wakes
the next one the moment the previous one commits. The flock only orders writers; SQLite's
own lock still guards the data, writers that do not queue here still get it through the
busy handler, and the kernel drops a dead process's flock (kill -9 included).

Group commit (insert_together): the INSERTs of several threads of one web process that are
waiting to write at the same moment share one transaction, so SQLite's lock is taken once
for all of them. Each caller still returns only once its own rows are committed.

PostgreSQL has row locks and needs no queue: there atomic() is plain transaction.atomic().
"""

import contextlib
import fcntl
import logging
import os
import threading

from django.db import connection, transaction

log = logging.getLogger(__name__)
_warned = False  # that the queue file cannot be opened


@contextlib.contextmanager
def atomic(savepoint=True):
    """transaction.atomic(), queued behind the other writers first on SQLite."""
    queue = _open_queue()
    try:
        if queue is not None:
            fcntl.flock(queue, fcntl.LOCK_EX)  # released when the file is closed
        with transaction.atomic(savepoint=savepoint):
            yield
    finally:
        if queue is not None:
            os.close(queue)


def _open_queue():
    """The queue file of the SQLite database in use, opened anew for each transaction:
    flocks of two opens exclude each other even between threads of one process, and nothing
    stays open after a thread ends. Created with the database file's permissions, so every
    process that may write to the database may queue. None when there is nothing to queue
    for: another database, one in memory (no other process shares it), or a transaction
    nested in one that began with BEGIN IMMEDIATE and so holds SQLite's lock already
    (queueing now could wait for a writer that waits for us). None too if the file cannot
    be opened: writers then wait in SQLite's busy handler as they would without the queue,
    slower but just as safe (said once in the log)."""
    global _warned
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    if connection.in_atomic_block:
        return None
    database = os.fspath(connection.settings_dict["NAME"])
    path = f"{database}-writers"
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, os.stat(database).st_mode & 0o666)
    except OSError as error:
        if not _warned:
            _warned = True
            log.warning("Writers do not queue (%s): %s", path, error)
        return None


# --- group commit ---------------------------------------------------------------------------


class _Write:
    """The INSERTs of one caller, waiting for a transaction to commit them."""

    def __init__(self, inserts):
        self.inserts = inserts
        self.done = False
        self.error = None


_pending = []  # writes of this process no transaction has taken yet
_pending_lock = threading.Lock()
_leader = threading.Lock()  # held by the thread committing a group of writes


def insert_together(inserts):
    """Execute `inserts`, [(sql, rows)] from rows.prepared_insert, in one transaction, and
    return once it committed. Writes of other threads of this process waiting at the same
    time share that transaction (group commit). If a shared transaction fails, each of its
    writes is tried alone, so each caller gets its own outcome. Inside a transaction of the
    caller's, they are simply executed there."""
    if connection.in_atomic_block:
        _execute(inserts)
        return
    write = _Write(inserts)
    with _pending_lock:
        _pending.append(write)
    with _leader:
        if not write.done:  # else the thread that led before us committed it
            _commit_pending()
    if write.error is not None:
        raise write.error


def _commit_pending():
    with _pending_lock:
        group = list(_pending)
        _pending.clear()
    try:
        _commit(group)
    finally:
        for write in group:
            if not write.done:  # this thread was stopped (SystemExit) before it committed
                write.error = write.error or RuntimeError("The write was interrupted.")
                write.done = True


def _commit(group):
    try:
        with atomic():
            for write in group:
                _execute(write.inserts)
    except Exception as error:
        if len(group) == 1:
            group[0].error, group[0].done = error, True
            return
        for write in group:  # which write failed, and would it alone? Each tries alone.
            _commit([write])
        return
    for write in group:
        write.done = True


def _execute(inserts):
    with connection.cursor() as cursor:
        for sql, rows in inserts:
            cursor.executemany(sql, rows)
