"""Timers fire from the worker loop: each tick of each timer trigger used by an enabled rule
fires exactly once, however many workers look at it (a unique row per tick), and rule
changes are seen on the next look, without a restart. The worker also forgets the rows of
old ticks (forget_old_firings), so the table holds about a day of ticks, not every tick."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import access, dispatch, triggers
from .errors import InvalidInput
from .models import Rule, TimerFiring, Trigger
from .records import by_ref_or_id

# A tick is looked for only within triggers.MISFIRE_GRACE of now (5 minutes), so the row of an
# older one guards nothing; a day is kept, for people looking at what fired and for clocks
# of workers that disagree.
KEEP_FIRINGS = timedelta(days=1)
FORGET_BATCH = 1000  # rows deleted per statement (each its own short transaction)
FORGET_BATCHES = 10  # statements per call at most: a backlog goes over several calls


def fire_due_timers(now=None):
    """Fire every timer tick that is due; returns how many fired here."""
    now = now or timezone.now()
    in_use = Rule.objects.filter(enabled=True, trigger_type__in=triggers.TIMER_TYPES)
    fired = 0
    for trigger in Trigger.objects.filter(ref__in=in_use.values("trigger_ref")):
        due = triggers.last_due(trigger, now)
        if due is not None and _claim_tick(trigger, due):
            dispatch.dispatch(trigger, triggers.timer_payload(trigger, due))
            fired += 1
    return fired


def _claim_tick(trigger, due):
    try:
        with transaction.atomic():
            TimerFiring.objects.create(trigger_ref=trigger.ref, due_at=due)
    except IntegrityError:
        return False  # another worker fired this tick
    return True


def forget_old_firings(now=None, batch=FORGET_BATCH, batches=FORGET_BATCHES):
    """Delete the firings of ticks due more than KEEP_FIRINGS before `now`, oldest recorded
    first, in at most `batches` deletions of `batch` rows; returns how many rows went. The
    worker calls it every minute (worker.FIRINGS_PRUNE_INTERVAL)."""
    old = TimerFiring.objects.filter(due_at__lt=(now or timezone.now()) - KEEP_FIRINGS)
    forgotten = 0
    for _ in range(batches):
        ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch])
        if ids:
            forgotten += TimerFiring.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            break
    return forgotten


# --- GET /timers -------------------------------------------------------------------------------


def timer_triggers(caller, timer_type=None):
    """The timer triggers in use (rules create and share them; the last rule's deletion
    deletes them), of one type when asked; everyone sees them (st2bridge.access)."""
    if timer_type and timer_type not in triggers.TIMER_TYPES:
        supported = ", ".join(repr(name) for name in triggers.TIMER_TYPES)
        raise InvalidInput(f"Timer type {timer_type} not in supported types - [{supported}].")
    timers = (
        Trigger.objects.filter(type=timer_type)
        if timer_type
        else Trigger.objects.filter(type__in=triggers.TIMER_TYPES)
    )
    return access.visible_triggers(caller, timers.order_by("type", "ref"))


def find_timer(caller, ref_or_id):
    return by_ref_or_id(timer_triggers(caller), ref_or_id)
