"""Timers fire from the worker loop: each tick of each timer trigger used by an enabled rule
fires exactly once, however many workers look at it (a unique row per tick), and rule
changes are seen on the next look, without a restart. The rows of old ticks are purged with
the other tables (st2bridge.retention, ST2_TIMER_FIRINGS_TTL)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import dispatch, triggers
from .models import Rule, TimerFiring, Trigger


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
