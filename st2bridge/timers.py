"""Timers fire from the worker loop: each tick of each timer trigger used by an enabled rule
fires exactly once, however many workers look at it (a unique row per tick), and rule
changes are seen on the next look, without a restart. The rows of old ticks are purged with
the other tables (st2bridge.retention, ST2_TIMER_FIRINGS_TTL)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import access, dispatch, triggers
from .errors import InvalidInput
from .models import Rule, TimerFiring, Trigger
from .records import by_ref_or_id


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
