"""Adding to a cumulative table from many processes at once, without a lost update."""

from collections.abc import Sequence

from django.db import connection, models


def add(
    model: type[models.Model],
    keys: Sequence[str],
    amounts: Sequence[str],
    rows: Sequence[tuple],
) -> None:
    """Add each row's amounts to the row with its key, creating it if missing.

    ``rows`` hold the key values then the amounts, in the order of ``keys`` and ``amounts``.
    One ``INSERT … ON CONFLICT DO UPDATE`` (PostgreSQL and SQLite alike): the database adds
    atomically, so two processes adding to the same row at once both count. Rows are sorted
    by key so concurrent writers lock them in the same order (no deadlock).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(name).column) for name in (*keys, *amounts)]
    sums = [quote(model._meta.get_field(name).column) for name in amounts]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values = ", ".join([placeholders] * len(rows))
    conflict = ", ".join(columns[: len(keys)])
    update = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in sums)
    # Only the model's own table and column names are interpolated; values are parameters.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "  # noqa: S608
    sql += f"ON CONFLICT ({conflict}) DO UPDATE SET {update}"
    ordered = sorted(rows, key=lambda row: tuple(row[: len(keys)]))
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in ordered for value in row])
