"""StackStorm's service registry (/service_registry/groups and their members) over this
server's processes. Two groups:
- `api`: the web process answering (web processes keep no heartbeat, so the others are not
  listed; any of them answers the same);
- `worker`: the workers alive, each writing its row at every heartbeat
  (ST2_HEARTBEAT_INTERVAL); one silent for ST2_HEARTBEAT_STALE_AFTER seconds is gone, and its
  row is deleted after ten times that.
As in StackStorm, for administrators only."""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import access
from .errors import NotFound
from .formats import isotime
from .models import ServiceProcess

API, WORKER = "api", "worker"
STARTED = timezone.now()  # when this process loaded the module: its start, near enough


def beat(group, member_id, started_at):
    """Record that `member_id` of `group` (this process) is alive; forget long-gone ones."""
    now = timezone.now()
    ServiceProcess.objects.update_or_create(
        member_id=member_id,
        defaults={
            "group": group,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": started_at,
            "heartbeat_at": now,
        },
    )
    forget = now - timedelta(seconds=10 * settings.ST2_HEARTBEAT_STALE_AFTER)
    ServiceProcess.objects.filter(heartbeat_at__lt=forget).delete()


def leave(member_id):
    """A process stopping takes its row with it."""
    ServiceProcess.objects.filter(member_id=member_id).delete()


def _live():
    cutoff = timezone.now() - timedelta(seconds=settings.ST2_HEARTBEAT_STALE_AFTER)
    return ServiceProcess.objects.filter(heartbeat_at__gte=cutoff)


def groups(caller):
    access.require_admin(caller, refusal="Administrator access required")
    recorded = set(_live().values_list("group", flat=True))
    return {"groups": sorted({API} | recorded)}


def members(caller, group_id):
    access.require_admin(caller, refusal="Administrator access required")
    if group_id == API:
        this = {"hostname": socket.gethostname(), "pid": os.getpid(), "started_at": STARTED}
        return {"members": [_member(API, f"{this['hostname']}_{this['pid']}", **this)]}
    rows = list(_live().filter(group=group_id).order_by("member_id"))
    if not rows:
        raise NotFound(f'Group with ID "{group_id}" not found.')
    return {
        "members": [
            _member(
                group_id,
                row.member_id,
                hostname=row.hostname,
                pid=row.pid,
                started_at=row.started_at,
                heartbeat_at=row.heartbeat_at,
            )
            for row in rows
        ]
    }


def _member(group_id, member_id, hostname, pid, started_at, heartbeat_at=None):
    capabilities = {
        "hostname": hostname,
        "pid": pid,
        "name": group_id,
        "type": "active",
        "started_at": isotime(started_at),
    }
    if heartbeat_at is not None:
        capabilities["heartbeat_at"] = isotime(heartbeat_at)
    return {"group_id": group_id, "member_id": member_id, "capabilities": capabilities}
