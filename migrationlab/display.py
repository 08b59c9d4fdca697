"""Plain-text views of a database: tables, rows, and a table's schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def format_rows(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An aligned text table, like psql prints, with a row count."""
    cells = [["NULL" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(values, widths, strict=True)).rstrip()

    out = [line(headers), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(out)


def table_names(engine: Engine) -> list[str]:
    return sorted(sa.inspect(engine).get_table_names())


def _type_name(type_: sa.types.TypeEngine) -> str:
    # SQLAlchemy names timestamptz plain TIMESTAMP; say what PostgreSQL has.
    if getattr(type_, "timezone", False):
        return f"{type_} WITH TIME ZONE"
    return str(type_)


def describe_table(engine: Engine, table: str) -> str:
    """Columns, primary key, indexes, unique constraints and foreign keys of a table."""
    inspector = sa.inspect(engine)
    if table not in inspector.get_table_names():
        return f"{table}: no such table"
    pk = inspector.get_pk_constraint(table)
    rows = [
        (
            col["name"],
            _type_name(col["type"]),
            "YES" if col["nullable"] else "NO",
            col.get("default") or "",
        )
        for col in inspector.get_columns(table)
    ]
    out = [f"Table {table}", format_rows(["column", "type", "nullable", "default"], rows)]
    out[-1] = out[-1].rsplit("\n", 1)[0]  # no row count for a schema
    if pk.get("constrained_columns"):
        out.append(f"  primary key {pk['name']} ({', '.join(pk['constrained_columns'])})")
    for index in sorted(inspector.get_indexes(table), key=lambda i: i["name"] or ""):
        unique = "unique " if index["unique"] else ""
        columns = ", ".join(c or "(expression)" for c in index["column_names"])
        out.append(f"  {unique}index {index['name']} ({columns})")
    for uq in sorted(inspector.get_unique_constraints(table), key=lambda u: u["name"] or ""):
        out.append(f"  unique constraint {uq['name']} ({', '.join(uq['column_names'])})")
    for fk in sorted(inspector.get_foreign_keys(table), key=lambda f: f["name"] or ""):
        ondelete = fk.get("options", {}).get("ondelete")
        action = f" ON DELETE {ondelete}" if ondelete else ""
        out.append(
            f"  foreign key {fk['name']} ({', '.join(fk['constrained_columns'])}) -> "
            f"{fk['referred_table']}({', '.join(fk['referred_columns'])}){action}"
        )
    return "\n".join(out)
