"""The worker: claims requested executions, runs them with their runner, records output and
transitions, keeps a heartbeat, and marks work of dead workers `abandoned`.

Workers coordinate only through the database: a claim is a conditional UPDATE that exactly
one worker wins (on PostgreSQL the candidates are also locked with SKIP LOCKED).
"""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from . import (
    auth,
    configs,
    execution_counts,
    executions,
    lifecycle,
    retention,
    server_events,
    service_registry,
    timers,
)
from .auth import is_admin_username
from .errors import St2Error
from .models import Execution, ExecutionOutput, Pack, StreamEvent
from .rows import columns, instance, select_rows
from .runners import RunnerUnavailable, RunRequest, get_runner, sandbox
from .runners.python_script import PythonScriptRunner

log = logging.getLogger(__name__)
# Seconds an idle worker waits between looks for requested work. An idle look is one indexed
# read, so a short interval is cheap, and it is most of the latency of a quick action.
POLL_INTERVAL = 0.01
TIMER_CHECK_INTERVAL = 0.25  # seconds; well under a tick, so no tick is skipped
COUNTS_COMPACT_INTERVAL = 5  # seconds between compactions of the execution counts
LIVE = (Execution.SCHEDULED, Execution.RUNNING, Execution.CANCELING)
TOKEN_GRACE = 60  # seconds an action's API token outlives its timeout (revoked when it ends)


def claim(worker_name, limit):
    """Claim up to `limit` requested executions for this worker; returns their Jobs. Jobs of
    inline runners come back finished (see _claim_moves), the others `scheduled`, to be run
    in threads of their own."""
    # Workers poll often; an idle poll is one indexed read, without the write lock that
    # opening a transaction takes on SQLite (BEGIN IMMEDIATE).
    if not select_rows(Execution, ("id",), {"status": [Execution.REQUESTED]}, limit=1):
        return []
    if connection.vendor == "postgresql":
        # The candidates are locked (SKIP LOCKED) from the SELECT to the commit.
        with transaction.atomic():
            jobs, claimed = _claim(worker_name, _requested(limit, skip_locked=True))
    else:
        # SQLite has one write lock: read and prepare everything before taking it. The claim
        # is the UPDATE conditional on `requested`; a row another worker claimed (or someone
        # canceled) since is passed over, and what was prepared for it is dropped.
        jobs, claimed = _claim(worker_name, _requested(limit))
    lifecycle.emit_action_triggers(claimed)  # of the inline jobs, once their claim committed
    return jobs


def _claim(worker_name, requested):
    """(jobs, executions) claimed of the `requested` executions."""
    jobs = [Job(execution) for execution in requested]
    moves = _claim_moves(jobs, {"worker": worker_name, "heartbeat_at": timezone.now()})
    claimed = executions.transition_through(moves, only_from=(Execution.REQUESTED,))
    ids = {execution.pk for execution in claimed}
    return [job for job in jobs if job.execution.pk in ids], claimed


def _requested(limit, skip_locked=False):
    """The `limit` oldest requested executions (a plain SELECT, st2bridge.rows)."""
    found = select_rows(
        Execution,
        columns(Execution),
        {"status": [Execution.REQUESTED]},
        order_by=("start_timestamp",),
        limit=limit,
        skip_locked=skip_locked,
    )
    return [instance(Execution, row) for row in found]


def _claim_moves(jobs, fields):
    """[(execution, steps)] claiming each job: `scheduled` for a job run in a thread. A job
    of an inline runner (returns at once and acts on nothing outside the database) is run
    now, and its execution moves from `requested` through `scheduled` and `running` to its
    outcome in one UPDATE, with a log entry and a stream event for each step: one write
    transaction for a whole batch, where running them one by one took three each. Its
    outcome is recorded only if the claim wins (else another worker runs it, or it was
    canceled); a worker killed before the commit leaves it `requested` for the next claim."""
    moves = []
    for job in jobs:
        if not job.inline:
            moves.append((job.execution, [(Execution.SCHEDULED, fields)]))
            continue
        status, result = job.outcome()
        steps = [
            (Execution.SCHEDULED, fields),
            (Execution.RUNNING, {}),
            (status, job.finish_fields(status, result)),
        ]
        moves.append((job.execution, steps))
    return moves


def mark_abandoned(stale_after):
    """Executions whose worker stopped beating are `abandoned`, never left `running`."""
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    stale = Execution.objects.filter(status__in=LIVE, heartbeat_at__lt=cutoff)
    for execution in stale:
        reason = {"error": f"Worker {execution.worker} stopped responding; execution abandoned."}
        if lifecycle.transition(execution, Execution.ABANDONED, only_from=LIVE, result=reason):
            log.warning("Execution %s abandoned (worker %s lost)", execution.id, execution.worker)


class Job:
    """One execution, run in a thread of this worker, or while it is claimed when its runner
    is `inline` (returns at once): that spares a thread and a database connection."""

    def __init__(self, execution):
        self.execution = execution
        self.secrets = executions.secret_values(execution)
        self.cancel = threading.Event()
        self.shutdown = False
        try:
            self.runner, self.unavailable = get_runner(execution.runner["name"]), None
        except RunnerUnavailable as error:
            self.runner, self.unavailable = None, error
        self.inline = self.runner is not None and self.runner.inline
        self.thread = threading.Thread(target=self._run_in_thread, name=f"execution-{execution.id}")
        self.reader_connections = {}  # runner threads that recorded output -> their connection
        self.raw_token = None  # the action's API token while it runs (runner.action_api)

    def _run_in_thread(self):
        try:
            self.run()
        finally:
            if self.raw_token:
                auth.revoke_token(self.raw_token)
            close_old_connections()
            connection.close()  # each thread has a connection of its own
            # A dead thread's connection would stay open until garbage collection: on
            # PostgreSQL, a server session per output stream of every execution.
            for reader, reader_connection in list(self.reader_connections.items()):
                if not reader.is_alive():
                    reader_connection.close()

    def run(self):
        try:
            self._run()
        except Exception:  # a bug must not leave the execution running forever
            log.exception("Execution %s crashed while running", self.execution.id)
            self._finish(*self._crashed())

    def _run(self):
        execution = self.execution
        if not lifecycle.transition(execution, Execution.RUNNING, only_from=(Execution.SCHEDULED,)):
            # Canceled before it started: finish the cancel, never leave it `canceling`.
            result = {"message": "Action canceled by user."}
            lifecycle.transition(
                execution, Execution.CANCELED, only_from=(Execution.CANCELING,), result=result
            )
            return
        self._finish(*self.outcome())

    def outcome(self):
        """(status, result) of running the action of this `running` execution."""
        try:
            return self._outcome()
        except Exception:  # a bug must not leave the execution running forever
            log.exception("Execution %s crashed while running", self.execution.id)
            return self._crashed()

    @staticmethod
    def _crashed():
        return Execution.FAILED, {"error": "Internal error while running the action."}

    def _outcome(self):
        if self.unavailable is not None:
            return Execution.FAILED, {"error": str(self.unavailable)}
        try:
            request = self._request()
        except St2Error as error:  # the pack config's template fails, say
            return Execution.FAILED, {"error": error.message}
        outcome = self.runner.run(request)
        if self.shutdown and outcome.status == Execution.CANCELED:
            return Execution.FAILED, {"error": "Worker shut down before the action finished."}
        return outcome.status, outcome.result

    def _request(self):
        """The RunRequest; for a Python action with its pack's config (self.config), for an
        action's process with a token of the execution's user (ST2_ACTION_AUTH_TOKEN). The
        config's secrets and the token are scrubbed from what the action prints."""
        execution = self.execution
        values = executions.runner_values(execution)
        timeout = _timeout(values)
        config = {}
        if self.runner.name == PythonScriptRunner.name:
            found = configs.runtime_config(execution.action["pack"], execution.user)
            config = found.values
            self._scrub_too(found.secrets)
        if self.runner.action_api:
            seconds = (timeout or settings.ST2_ACTION_TIMEOUT) + TOKEN_GRACE
            _, self.raw_token = auth.issue_action_token(execution.user, seconds, execution.id)
            self._scrub_too([self.raw_token] if self.raw_token else [])
        return RunRequest(
            execution_id=execution.id,
            action=execution.action,
            pack_path=_pack_path(execution.action["pack"]),
            parameters=values,
            timeout=timeout,
            on_output=self._record_output,
            cancel=self.cancel,
            config=config,
            api_url=settings.ST2_ACTION_API_URL if self.raw_token else "",
            auth_token=self.raw_token or "",
            max_output_bytes=settings.ST2_MAX_OUTPUT_BYTES,
            protect_local_addresses=settings.ST2_HTTP_PROTECT_LOCAL
            and not self.inline  # no query on the claim's path: inline runners connect nowhere
            and not is_admin_username(execution.user),
        )

    def _scrub_too(self, texts):
        self.secrets = sorted({*self.secrets, *texts}, key=len, reverse=True)

    def finish_fields(self, status, result):
        """The fields transition() records with the final status: the result, scrubbed."""
        if status == Execution.CANCELED and not isinstance(result, dict):
            result = {"message": "Action canceled by user."}
        return {"result": executions.scrub(result, self.secrets)}

    def _finish(self, status, result):
        lifecycle.transition(
            self.execution,
            status,
            only_from=(Execution.RUNNING, Execution.CANCELING),
            **self.finish_fields(status, result),
        )

    def _record_output(self, output_type, data):
        data = executions.scrub(data, self.secrets)
        chunk = ExecutionOutput.objects.create(
            execution_id=self.execution.id, output_type=output_type, data=data
        )
        StreamEvent.objects.create(
            name="st2.execution.output__create",
            execution_id=self.execution.id,
            user=self.execution.user,
            data=executions.output_to_api(self.execution, chunk),
        )
        if threading.current_thread() is not self.thread:  # a runner's output reader
            self.reader_connections[threading.current_thread()] = connection.connection


def _pack_path(pack_ref):
    found = select_rows(Pack, ("path",), {"ref": [pack_ref]})
    return found[0][0] if found else None


def _timeout(values):
    timeout = values.get("timeout")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
        return timeout
    return settings.ST2_ACTION_TIMEOUT


class Worker:
    def __init__(self, concurrency, poll_interval=POLL_INTERVAL, grace=None, name=None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.grace = settings.ST2_WORKER_GRACE if grace is None else grace
        self.jobs = {}
        self.stopping = threading.Event()
        self._last_beat = 0.0
        # The worker's chores besides executions: (every so many seconds, what), each last
        # done at a time in self._last_done.
        self.chores = (
            (TIMER_CHECK_INTERVAL, timers.fire_due_timers),
            # A bounded amount each time: a backlog goes over several calls.
            (retention.PURGE_INTERVAL, retention.purge),
            # core.st2.api_key.expiring, once per key.
            (server_events.KEY_CHECK_INTERVAL, server_events.warn_expiring_keys),
            # PostgreSQL's rows of +n/-n (does nothing on SQLite).
            (COUNTS_COMPACT_INTERVAL, execution_counts.compact),
        )
        self._last_done = dict.fromkeys(range(len(self.chores)), 0.0)
        self.started_at = timezone.now()

    def stop(self, *_signal_args):
        self.stopping.set()

    def run(self):
        log.info("Worker %s started (concurrency %s)", self.name, self.concurrency)
        sandbox.announce()  # who actions run as; a warning when they can read our secrets
        while not self.stopping.is_set():
            if not self.tick():
                self.stopping.wait(self.poll_interval)
        self.drain()
        service_registry.leave(self.name)
        log.info("Worker %s stopped", self.name)

    def tick(self):
        """One round of the loop. True if it filled every free slot: more work may be
        waiting, so the next round should not wait for the poll interval."""
        self._reap()
        if time.monotonic() - self._last_beat >= settings.ST2_HEARTBEAT_INTERVAL:
            self._beat()
        self._forward_cancels()
        for number, (interval, chore) in enumerate(self.chores):
            if time.monotonic() - self._last_done[number] >= interval:
                self._last_done[number] = time.monotonic()
                chore()
        free = self.concurrency - len(self.jobs)
        if free <= 0:
            return False
        claimed = claim(self.name, free)
        for job in claimed:
            if not job.inline:  # inline jobs are done already: they never hold a slot
                self.jobs[job.execution.id] = job
                job.thread.start()
        return len(claimed) == free

    def _reap(self):
        for execution_id in [i for i, job in self.jobs.items() if not job.thread.is_alive()]:
            del self.jobs[execution_id]

    def _beat(self):
        self._last_beat = time.monotonic()
        service_registry.beat(service_registry.WORKER, self.name, self.started_at)
        if self.jobs:
            Execution.objects.filter(pk__in=list(self.jobs)).update(heartbeat_at=timezone.now())
        mark_abandoned(settings.ST2_HEARTBEAT_STALE_AFTER)

    def _forward_cancels(self):
        if not self.jobs:
            return
        canceling = Execution.objects.filter(pk__in=list(self.jobs), status=Execution.CANCELING)
        for execution_id in canceling.values_list("id", flat=True):
            self.jobs[execution_id].cancel.set()

    def drain(self):
        """SIGTERM: no new work; running work may finish within the grace period, then it is
        stopped and recorded as failed."""
        deadline = time.monotonic() + self.grace
        while self.jobs and time.monotonic() < deadline:
            self._reap()
            self._beat_if_due()
            time.sleep(0.2)
        for job in self.jobs.values():
            job.shutdown = True
            job.cancel.set()
        for job in self.jobs.values():
            job.thread.join(timeout=30)

    def _beat_if_due(self):
        if time.monotonic() - self._last_beat >= settings.ST2_HEARTBEAT_INTERVAL:
            self._beat()
