"""Plain SQL for the two hot paths, rule dispatch (every webhook) and the worker's loop: the
SELECTs they read with, the INSERTs of what a webhook starts, and the compare-and-set UPDATEs
of execution transitions. Each is built once per shape from a model's own table and column
names, with values prepared exactly as the ORM prepares them (its converters on the way out,
get_db_prep_save on the way in), so callers see what the ORM would give them. Only the model's
own quoted names go into the SQL text; every value is a parameter. Everything else, reads and
writes, is the ORM's.

Why these are not the ORM's: the ORM compiles a query anew on every call, which there cost
more than running it (0.2-0.3 ms per query on the 2-core VM of bench/RESULTS.md), and an ORM
write compiles inside the transaction, that is while holding SQLite's only write lock. Kept
because each half earns its place, measured A/B in the same sessions (bench/RESULTS.md,
2026-11-30, median of rounds of webhook rate / GET rate): the reads +21% (0.32x -> 0.39x),
the writes prepared before the transaction +18% (0.38x -> 0.45x) over the plain ORM.
"""

import functools

from django.db import connection, transaction


@functools.cache
def columns(model):
    """The attribute names of all the model's concrete fields, in table order."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def instance(model, row):
    """A model object from a row of all its columns (select_rows of columns(model)), as the
    ORM builds one from a row it read."""
    names = columns(model)
    return model.from_db(connection.alias, names, converted(model, names, row))


def select_rows(model, names, where, order_by=(), limit=None, skip_locked=False):
    """Rows (as the database returns them) of columns `names` of `model` where every
    {field: [values]} of `where` holds. `skip_locked`: lock the rows for this transaction,
    passing over rows others have locked (PostgreSQL's FOR UPDATE SKIP LOCKED)."""
    shape = tuple((name, len(allowed)) for name, allowed in where.items())
    sql = _select_sql(
        connection.vendor, model, tuple(names), shape, tuple(order_by), limit, skip_locked
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for allowed in where.values() for value in allowed])
        return cursor.fetchall()


@functools.lru_cache(maxsize=256)
def _select_sql(vendor, model, names, shape, order_by, limit, skip_locked):
    """The text of one shape of select_rows() query ({field: how many values}), built once."""
    quote, meta = connection.ops.quote_name, model._meta
    clauses = [
        f"{quote(meta.get_field(name).column)} IN ({', '.join(['%s'] * count)})"
        for name, count in shape
    ]
    selected = ", ".join(quote(meta.get_field(name).column) for name in names)
    sql = f"SELECT {selected} FROM {quote(meta.db_table)} WHERE {' AND '.join(clauses)}"  # noqa: S608  # nosec B608
    if order_by:
        sql += " ORDER BY " + ", ".join(quote(meta.get_field(name).column) for name in order_by)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    return sql


def select_with_user(model, name, value):
    """The object of `model` whose unique field `name` is `value`, with its `user` attached
    as select_related("user") attaches it; None when there is none. One SELECT joining the
    user, its text built once per model: the credential check of every API request
    (st2bridge.auth), where the ORM's compiling of the query cost more than the query."""
    sql = _with_user_sql(connection.vendor, model, name)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(columns(model))
    found = instance(model, row[:split])
    found.user = instance(model._meta.get_field("user").related_model, row[split:])
    return found


@functools.lru_cache(maxsize=16)
def _with_user_sql(vendor, model, name):
    quote, meta = connection.ops.quote_name, model._meta
    user_meta = meta.get_field("user").related_model._meta
    own = ", ".join(f"c.{quote(meta.get_field(n).column)}" for n in columns(model))
    users = ", ".join(f"u.{quote(f.column)}" for f in user_meta.concrete_fields)
    return (
        f"SELECT {own}, {users} FROM {quote(meta.db_table)} c "  # noqa: S608  # nosec B608
        f"INNER JOIN {quote(user_meta.db_table)} u "
        f"ON u.{quote(user_meta.pk.column)} = c.{quote(meta.get_field('user').column)} "
        f"WHERE c.{quote(meta.get_field(name).column)} = %s"
    )


def converted(model, names, row):
    """A row's values as the ORM gives them (JSON decoded, SQLite's 0/1 as booleans, ...)."""
    return [
        _convert(value, converters)
        for value, converters in zip(row, _converters(model, names), strict=True)
    ]


def _convert(value, converters):
    for convert, expression in converters:
        value = convert(value, expression, connection)
    return value


@functools.cache
def _converters(model, names):
    """The ORM's own converters of each column (backend's first, then the field's)."""
    found = []
    for name in names:
        column = model._meta.get_field(name).get_col(model._meta.db_table)
        funcs = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        found.append([(func, column) for func in funcs])
    return found


def prepared_insert(objects):
    """(sql, rows): one INSERT of unsaved objects of one model for executemany, their values
    prepared as bulk_create prepares them (field.pre_save, get_db_prep_save). An
    auto-increment id left unset is left to the database."""
    model = type(objects[0])
    without_pk = getattr(objects[0], model._meta.pk.attname) is None
    sql, fields = _insert_sql(connection.vendor, model, without_pk)
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        for obj in objects
    ]
    return sql, rows


@functools.lru_cache(maxsize=64)
def _insert_sql(vendor, model, without_pk):
    """(text, fields) of the INSERT of prepared_insert(), built once per model."""
    fields = [
        field for field in model._meta.concrete_fields if not (field.primary_key and without_pk)
    ]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})", fields  # noqa: S608  # nosec B608


def mark_saved(objects):
    """Objects INSERTed from prepared_insert() are saved now (an auto-increment id stays
    unset on the object)."""
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def prepared_update(model, changes, where):
    """(sql, values): an UPDATE of the {field: value} `changes` of the rows where every
    {field: value} of `where` holds, values prepared as QuerySet.update() prepares them
    (get_db_prep_save). Run it with execute(), whose row count says how many rows changed."""
    quote, meta = connection.ops.quote_name, model._meta
    assignments, clauses, values = [], [], []
    for name, value in changes.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        values.append(field.get_db_prep_save(value, connection))
    for name, value in where.items():
        field = meta.get_field(name)
        clauses.append(f"{quote(field.column)} = %s")
        values.append(field.get_db_prep_value(value, connection))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608  # nosec B608
        f"WHERE {' AND '.join(clauses)}"
    )
    return sql, values


def insert_all(groups):
    """INSERT each group of unsaved objects (one model per group) with one statement per
    group, all in one transaction; the values are prepared before it begins (on SQLite it
    holds the only write lock). The objects are saved afterwards."""
    inserts = [prepared_insert(objects) for objects in groups if objects]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, rows in inserts:
            cursor.executemany(sql, rows)
    for objects in groups:
        mark_saved(objects)
