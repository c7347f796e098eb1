"""The execution list (GET /api/v1/executions) at any size (issue 16): its pages and its
X-Total-Count cost about the same with a thousand executions or a million.

- Order: newest first (start_timestamp, then id); oldest first is its exact reverse. Each
  filter has an index that starts with it and goes on in that order (st2bridge.models), so a
  page is read from an index in order and never sorted.
- Count: the sum of the matching rows of the counts table (st2bridge.execution_counts), for
  every filter but a parent's id, a trigger instance and a list of ids, which select a few
  rows, counted as they are. A time range is counted on the index up to COUNT_CAP rows; a
  larger range, as the total without what lies outside it, when that is under the cap; only
  a range with more than COUNT_CAP rows on either side is counted in full.
- Deep offsets: the page is first found as ids alone, which the index holds, so the rows
  skipped are index entries, never table rows (PostgreSQL reads the table only for pages
  of the visibility map that VACUUM has not marked yet); then those rows are read by id.
  Past the middle of the list it is read from the other end, so the last pages are as quick
  as the first. For the whole history (or its top level, parent=null) as an administrator
  sees it, an offset of SEEK_FROM or more is first turned into the hour its page starts in,
  by adding up the counts of executions per day, then per hour of that day
  (st2bridge.execution_counts.hour_at), so that at most an hour's executions are skipped.
  A filtered list still steps over the index entries before its page (or after it, past
  the middle).
"""

from dataclasses import dataclass, field
from datetime import datetime

from . import access, execution_counts
from .models import ExecutionCount

NEWEST_FIRST = ("-start_timestamp", "id")
OLDEST_FIRST = ("start_timestamp", "-id")  # the exact reverse: one index serves both
COUNT_CAP = 10_000
SEEK_FROM = 5_000  # an offset from which a page of the whole history is found by hours


@dataclass
class Selection:
    """What a list asks for. `equal`: {column: value} of the counted columns (user,
    action_ref, status, rule_ref, trigger_type); `action_contains`: part of the action ref;
    `top_level`: parent=null; `after`/`before`: exclusive bounds of start_timestamp."""

    equal: dict = field(default_factory=dict)
    action_contains: str = ""
    top_level: bool = False
    parent: str = ""
    trigger_instance: str = ""
    ids: list = field(default_factory=list)
    after: datetime | None = None
    before: datetime | None = None
    oldest_first: bool = False

    def executions(self, caller, timed=True):
        """The caller's executions it selects, in its order (`timed`: within its bounds)."""
        rows = access.visible_executions(caller).filter(**self.equal)
        if self.action_contains:
            rows = rows.filter(action_ref__icontains=self.action_contains)
        if self.top_level:
            rows = rows.filter(parent__isnull=True)
        if self.parent:
            rows = rows.filter(parent_id=self.parent)
        if self.trigger_instance:
            rows = rows.filter(trigger_instance_id=self.trigger_instance)
        if self.ids:
            rows = rows.filter(pk__in=self.ids)
        if timed and self.after is not None:
            rows = rows.filter(start_timestamp__gt=self.after)
        if timed and self.before is not None:
            rows = rows.filter(start_timestamp__lt=self.before)
        return rows.order_by(*(OLDEST_FIRST if self.oldest_first else NEWEST_FIRST))

    def total(self, caller):
        """How many executions it selects, exactly (see the module's docstring)."""
        if self.parent or self.trigger_instance or self.ids:
            return self.executions(caller).order_by().count()
        counts = access.visible_execution_counts(caller).filter(**self.equal)
        if self.action_contains:
            counts = counts.filter(action_ref__icontains=self.action_contains)
        if self.top_level:
            counts = counts.filter(top_level=True)
        total = execution_counts.count(counts)
        if self.after is None and self.before is None:
            return total
        return self._in_range(caller, total)

    def _in_range(self, caller, total):
        """The count within the time bounds, of `total` without them."""
        inside = self.executions(caller)
        found = _capped_count(inside)
        if found is not None:
            return found
        untimed = self.executions(caller, timed=False)
        outside = 0
        if self.after is not None:
            outside_before = _capped_count(untimed.filter(start_timestamp__lte=self.after))
            if outside_before is None:
                return inside.order_by().count()
            outside += outside_before
        if self.before is not None:
            # Disjoint from the part before `after`: the range is not empty, so after < before.
            outside_after = _capped_count(untimed.filter(start_timestamp__gte=self.before))
            if outside_after is None:
                return inside.order_by().count()
            outside += outside_after
        return total - outside

    def page(self, caller, rows, offset, limit, total):
        """Rows [offset, offset + limit) of `rows` (what executions() gives, deferring what
        the caller wishes; limit None: to the end), of which there are `total`."""
        if limit is None:
            return list(rows[offset:])
        if offset == 0:
            return list(rows[:limit])
        from_end = offset > total - offset - limit  # past the middle: read from the end
        if from_end:
            stop = total - offset
            if stop <= 0:
                return []
            skip, count, ordered = max(0, stop - limit), min(limit, stop), rows.reverse()
        else:
            skip, count, ordered = offset, limit, rows
        ordered, skip = self._seek(
            caller, ordered, skip, newest_first=from_end == self.oldest_first
        )
        ids = list(ordered.values_list("pk", flat=True)[skip : skip + count])
        if from_end:
            ids.reverse()
        found = rows.in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    def _seek(self, caller, ordered, skip, newest_first):
        """(rows, skip) to the same rows with fewer skipped: for the whole history (or its
        top level) as an administrator sees it, the hour the page starts in is found by
        adding up days and hours (st2bridge.execution_counts.hour_at), and only the
        executions of that hour before the page are skipped in the index."""
        plain = not (
            self.equal or self.action_contains or self.parent or self.trigger_instance
            or self.ids or self.after or self.before
        )  # fmt: skip
        if skip < SEEK_FROM or not plain or not access.sees_all_executions(caller):
            return ordered, skip
        found = execution_counts.hour_at(skip, newest_first, self.top_level)
        if found is None:
            return ordered, skip
        hour, before = found
        if newest_first:
            return ordered.filter(start_timestamp__lt=hour + execution_counts.HOUR), skip - before
        return ordered.filter(start_timestamp__gte=hour), skip - before


def refs_named(column, name):
    """The refs (pack.name) in `column` of ExecutionCount ("rule_ref" or "trigger_type")
    whose name is `name`: every ref that any execution has there, since the counts are kept
    exactly; a handful of rows, whatever the number of executions."""
    counts = ExecutionCount.objects.filter(**{f"{column}__endswith": f".{name}"})
    refs = counts.order_by().values_list(column, flat=True).distinct()
    return [ref for ref in refs if ref.partition(".")[2] == name]


def _capped_count(rows):
    """How many rows there are, if at most COUNT_CAP (an index range read that far), else
    None."""
    found = rows.order_by()[: COUNT_CAP + 1].count()
    return found if found <= COUNT_CAP else None
