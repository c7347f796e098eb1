"""One row by its ref or id, and saving one under a unique ref: the two ways every area finds
and writes a single record, written once (issue 13); and making many rows keyed by ref hold
given values in bulk (what registering a pack writes). Which rows a caller may find is
st2bridge.access's business: it hands by_ref_or_id a queryset already narrowed."""

from django.db import IntegrityError, transaction

from .errors import Conflict, NotFound


def by_ref_or_id(rows, ref_or_id, message=None, ref_field="ref"):
    """The row of the queryset `rows` whose id, or else whose `ref_field`, is `ref_or_id`;
    NotFound(`message`) when there is none. Ids are ObjectIds (models.new_id: hex digits), so a
    value with a dot in it is a ref (pack.name) and costs one query."""
    found = None
    if "." not in ref_or_id:
        found = rows.filter(pk=ref_or_id).first()
    if found is None:
        found = rows.filter(**{ref_field: ref_or_id}).first()
    if found is None:
        raise NotFound(message or f'Resource with a reference or id "{ref_or_id}" not found')
    return found


def save_or_409(row, message, unique="ref"):
    """Save `row` (a new one or a change), or raise Conflict (409) with `message` and the id of
    the other row that already has its `unique` value. The check before the write answers the
    usual case; the database's unique index settles a race between two writers, with the same
    answer."""
    refuse_duplicate(row, message, unique)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        refuse_duplicate(row, message, unique)
        raise  # not a duplicate of `unique`: a fault, not the caller's
    return row


def refuse_duplicate(row, message, unique="ref"):
    """Raise Conflict when another row than `row` has its `unique` value."""
    existing = (
        type(row)
        .objects.filter(**{unique: getattr(row, unique)})
        .exclude(pk=row.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise Conflict(message, conflict_id=str(existing))  # ids are strings in the API


def upsert_by_ref(model, wanted, existing, batch_size=500):
    """Make rows of `model` hold `wanted` ({ref: {field: value}}) in bulk: the rows of
    `existing` ({ref: row}) that differ are updated, the missing ones created; a row already
    holding its values is not written. Returns {ref: row} for every ref of `wanted`."""
    rows, new, changed, fields = {}, [], [], set()
    for ref, values in wanted.items():
        fields.update(values)
        row = existing.get(ref)
        if row is None:
            row = model(ref=ref, **values)
            new.append(row)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
        rows[ref] = row
    model.objects.bulk_create(new, batch_size=batch_size)
    if changed:
        model.objects.bulk_update(changed, sorted(fields), batch_size=batch_size)
    return rows
