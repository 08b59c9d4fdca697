"""What a database holds, as a person reads it: rows as psql prints them, and its schema
as PostgreSQL itself describes it.

The schema is read from PostgreSQL's catalogs (``pg_attribute``, ``pg_index``,
``pg_constraint``, ``pg_enum``), never through an ORM's reflection, so it says what the
server says: ``character varying(255)``, ``timestamp with time zone``, an enum column's
type by name, an index left INVALID by a failed ``CREATE INDEX CONCURRENTLY``, a
constraint added ``NOT VALID``. A ``Schema`` is a snapshot; two of them give the
``SchemaDiff`` between two moments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    """The tables of the database's public schema, sorted."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "select relname from pg_class where relnamespace = 'public'::regnamespace "
            "and relkind in ('r', 'p') order by relname"
        )).scalars())


# -- the schema, as PostgreSQL holds it -------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as PostgreSQL names it: format_type()
    not_null: bool
    default: str | None
    enum: bool = False

    def __str__(self) -> str:
        null = "NOT NULL" if self.not_null else "NULL"
        default = f" DEFAULT {self.default}" if self.default else ""
        return f"{self.name} {self.type} {null}{default}"


@dataclass(frozen=True)
class Index:
    name: str
    definition: str  # "UNIQUE, btree (email)"
    valid: bool
    constraint: str | None  # the constraint it backs (primary key, unique), if any

    def __str__(self) -> str:
        return f"{self.name} {self.definition}" + ("" if self.valid else " INVALID")


@dataclass(frozen=True)
class Constraint:
    name: str
    kind: str  # PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK, EXCLUDE, NOT NULL
    definition: str  # pg_get_constraintdef()
    valid: bool

    def __str__(self) -> str:
        definition = self.definition.removesuffix(" NOT VALID")
        return f"{self.name} {definition}" + ("" if self.valid else " NOT VALID")


@dataclass(frozen=True)
class Trigger:
    name: str
    definition: str  # "BEFORE INSERT OR UPDATE ... EXECUTE FUNCTION f()"

    def __str__(self) -> str:
        return f"{self.name} {self.definition}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...]
    constraints: tuple[Constraint, ...]
    triggers: tuple[Trigger, ...] = ()


@dataclass(frozen=True)
class Schema:
    """The public schema at one moment: its tables and its enum types."""

    tables: dict[str, Table] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = [t for t in self.tables if t != "alembic_version"]
        return f"<schema snapshot: {', '.join(shown) or 'no tables'}>"

    def describe(self, *names: str) -> str:
        """Tables as text, like psql's \\d, and the enum types they use."""
        shown = names or tuple(n for n in self.tables if n != "alembic_version")
        if not shown:
            return "(no tables)"
        return "\n\n".join(self._describe(name) for name in shown)

    def _describe(self, name: str) -> str:
        table = self.tables.get(name)
        if table is None:
            return f"{name}: no such table"
        rows = [(c.name, c.type, "not null" if c.not_null else "", c.default or "") for c in table.columns]
        columns = format_rows(["column", "type", "nullable", "default"], rows).rsplit("\n", 1)[0]
        out = [f"Table {name}", columns]
        sections = [
            ("Indexes", [str(i) + (" (a failed build: drop it, then build it again)" if not i.valid else "")
                         for i in table.indexes]),
            ("Check constraints", [str(c) for c in table.constraints if c.kind == "CHECK"]),
            ("Foreign keys", [str(c) for c in table.constraints if c.kind == "FOREIGN KEY"]),
            ("Not-null constraints", [str(c) for c in table.constraints
                                      if c.kind == "NOT NULL" and not c.valid]),
            ("Exclusion constraints", [str(c) for c in table.constraints if c.kind == "EXCLUDE"]),
            ("Triggers", [str(t) for t in table.triggers]),
        ]
        for title, lines in sections:
            if lines:
                out.append(f"{title}:")
                out += [f"  {line}" for line in lines]
        used = sorted({c.type for c in table.columns if c.enum})
        if used:
            out.append("Enum types:")
            out += [f"  {t}: {', '.join(self.enums.get(t, ()))}" for t in used]
        return "\n".join(out)

    def diff(self, later: Schema) -> SchemaDiff:
        """What changed from this snapshot to LATER."""
        return SchemaDiff.between(self, later)


CATALOG = {
    "columns": """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), t.typtype = 'e'
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and a.attnum > 0 and not a.attisdropped
        order by c.relname, a.attnum""",
    "indexes": """
        select t.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisunique, x.indisprimary,
               x.indisvalid, con.conname
        from pg_index x
        join pg_class i on i.oid = x.indexrelid
        join pg_class t on t.oid = x.indrelid
        left join pg_constraint con on con.conindid = x.indexrelid and con.contype in ('p', 'u', 'x')
        where t.relnamespace = 'public'::regnamespace
        order by t.relname, x.indisprimary desc, i.relname""",
    "constraints": """
        select c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid), con.convalidated
        from pg_constraint con
        join pg_class c on c.oid = con.conrelid
        where c.relnamespace = 'public'::regnamespace and con.contype in ('p', 'u', 'f', 'c', 'x', 'n')
        order by c.relname, con.conname""",
    "triggers": """
        select c.relname, t.tgname, pg_get_triggerdef(t.oid)
        from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where c.relnamespace = 'public'::regnamespace and not t.tgisinternal
        order by c.relname, t.tgname""",
    "enums": """
        select t.typname, e.enumlabel
        from pg_type t join pg_enum e on e.enumtypid = t.oid
        where t.typnamespace = 'public'::regnamespace
        order by t.typname, e.enumsortorder""",
}
KINDS = {"p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY", "c": "CHECK", "x": "EXCLUDE",
         "n": "NOT NULL"}


def read_schema(engine: Engine) -> Schema:
    """The public schema as PostgreSQL's catalogs hold it now."""
    with engine.connect() as conn:
        rows = {key: conn.execute(sa.text(query)).all() for key, query in CATALOG.items()}
    columns: dict[str, list[Column]] = {}
    for table, name, type_, not_null, default, enum in rows["columns"]:
        columns.setdefault(table, []).append(Column(name, type_, not_null, default, enum))
    indexes: dict[str, list[Index]] = {}
    for table, name, definition, unique, primary, valid, constraint in rows["indexes"]:
        method = definition.split(" USING ", 1)[1]  # "btree (email)"
        kind = "PRIMARY KEY, " if primary else "UNIQUE, " if unique else ""
        indexes.setdefault(table, []).append(Index(name, kind + method, valid, constraint))
    constraints: dict[str, list[Constraint]] = {}
    for table, name, kind, definition, valid in rows["constraints"]:
        if kind == "n" and valid:
            continue  # PostgreSQL 18 names every NOT NULL; the column says it already
        constraints.setdefault(table, []).append(Constraint(name, KINDS[kind], definition, valid))
    triggers: dict[str, list[Trigger]] = {}
    for table, name, definition in rows["triggers"]:
        # "CREATE TRIGGER t BEFORE ... ON public.users FOR EACH ROW ...": what it does.
        what = definition.split(f"TRIGGER {name} ", 1)[-1].replace("ON public.", "ON ")
        triggers.setdefault(table, []).append(Trigger(name, what))
    enums: dict[str, list[str]] = {}
    for type_name, label in rows["enums"]:
        enums.setdefault(type_name, []).append(label)
    return Schema(
        tables={
            name: Table(name, tuple(cols), tuple(indexes.get(name, ())), tuple(constraints.get(name, ())),
                        tuple(triggers.get(name, ())))
            for name, cols in columns.items()
        },
        enums={name: tuple(labels) for name, labels in enums.items()},
    )


def describe_table(engine: Engine, table: str) -> str:
    """One table's schema as text (see Schema.describe)."""
    return read_schema(engine).describe(table)


# -- what changed between two moments --------------------------------------------------

@dataclass
class SchemaDiff:
    """Changes between two schema snapshots, one line each: ``+`` added, ``-`` removed,
    ``~`` changed (before -> after)."""

    changes: list[tuple[str, str]] = field(default_factory=list)  # (sign, text)

    @classmethod
    def between(cls, before: Schema, after: Schema) -> SchemaDiff:
        diff = cls()
        for name in sorted(before.tables.keys() | after.tables.keys()):
            old, new = before.tables.get(name), after.tables.get(name)
            if old is None and new is not None:
                parts = [f"column {c}" for c in new.columns] + [f"index {i}" for i in new.indexes]
                parts += [f"constraint {c}" for c in _own(new.constraints)]
                parts += [f"trigger {t}" for t in new.triggers]
                diff.add("+", f"table {name}" + "".join(f"\n    {part}" for part in parts))
            elif new is None:
                diff.add("-", f"table {name}")
            elif old is not None and old != new:
                diff._table(old, new)
        for name in sorted(before.enums.keys() | after.enums.keys()):
            old_labels, new_labels = before.enums.get(name), after.enums.get(name)
            if old_labels is None:
                diff.add("+", f"enum type {name} ({', '.join(new_labels or ())})")
            elif new_labels is None:
                diff.add("-", f"enum type {name}")
            elif old_labels != new_labels:
                diff.add("~", f"enum type {name}: {', '.join(old_labels)} -> {', '.join(new_labels)}")
        return diff

    def _table(self, old: Table, new: Table) -> None:
        def by_name(items):
            return {item.name: item for item in items}

        for what, before, after in (
            ("column", by_name(old.columns), by_name(new.columns)),
            ("index", by_name(old.indexes), by_name(new.indexes)),
            ("constraint", by_name(_own(old.constraints)), by_name(_own(new.constraints))),
            ("trigger", by_name(old.triggers), by_name(new.triggers)),
        ):
            for name in [*before, *(n for n in after if n not in before)]:
                a, b = before.get(name), after.get(name)
                if a is None:
                    self.add("+", f"{old.name}: {what} {b}")
                elif b is None:
                    self.add("-", f"{old.name}: {what} {a}")
                elif a != b:
                    self.add("~", f"{old.name}: {what} {_changed(a, b)}")

    def add(self, sign: str, text: str) -> None:
        self.changes.append((sign, text))

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __repr__(self) -> str:  # the text a notebook stores beside the coloured HTML
        return str(self)

    def __str__(self) -> str:
        if not self.changes:
            return "schema unchanged"
        return "\n".join(f"{sign} {text}" for sign, text in self.changes)

    def _repr_html_(self) -> str:
        from html import escape

        colors = {"+": "#1a7f37", "-": "#cf222e", "~": "#9a6700"}
        if not self.changes:
            return "<pre>schema unchanged</pre>"
        lines = [f'<span style="color: {colors[s]}">{escape(s)} {escape(t)}</span>'
                 for s, t in self.changes]
        return "<pre>" + "\n".join(lines) + "</pre>"


def _own(constraints: Iterable[Constraint]) -> list[Constraint]:
    """The constraints an index does not already show (primary keys and unique
    constraints are listed as their indexes, as psql lists them)."""
    return [c for c in constraints if c.kind not in ("PRIMARY KEY", "UNIQUE", "EXCLUDE")]


def _changed(a: Column | Index | Constraint | Trigger, b: Column | Index | Constraint | Trigger) -> str:
    """'name: what -> what', naming only the parts that differ."""
    parts = []
    for attribute in ("type", "not_null", "default", "definition", "valid", "kind"):
        old, new = getattr(a, attribute, None), getattr(b, attribute, None)
        if old != new:
            shown = {"not_null": lambda v: "NOT NULL" if v else "NULL",
                     "valid": lambda v: "valid" if v else "INVALID"}.get(attribute, lambda v: str(v))
            parts.append(f"{shown(old)} -> {shown(new)}")
    return f"{a.name}: " + "; ".join(parts)


# -- pictures --------------------------------------------------------------------------
#
# SVG drawn from the data, byte for byte the same on every run (nbval compares it): sorted
# input, coordinates from + - * / and sqrt only, no ids, no dates. Plain presentation
# attributes (no <style>, no <defs>), so code hosts that strip those still show it; the
# text/plain part is what a terminal, or a notebook not yet trusted, shows instead.

FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Picture:
    """A notebook output: an SVG picture, and its text for where pictures don't show."""

    svg: str
    text: str

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:  # noqa: ARG002
        return {"image/svg+xml": self.svg, "text/plain": self.text}

    def __str__(self) -> str:
        return self.text


def _number(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(width: float, height: float, body: list[str]) -> str:
    w, h = _number(width), _number(height)
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" {FONT}>'
    background = f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>'
    return "\n".join([head, background, *body, "</svg>"]) + "\n"


def _arrow(x1: float, y1: float, x2: float, y2: float, color: str = "#444444") -> list[str]:
    """A line from (x1, y1) to (x2, y2), with its head drawn as a polygon at (x2, y2)."""
    from math import sqrt

    dx, dy = x2 - x1, y2 - y1
    length = sqrt(dx * dx + dy * dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = x2 - 9 * ux, y2 - 9 * uy
    px, py = -uy * 4, ux * 4
    n = _number
    return [f'<line x1="{n(x1)}" y1="{n(y1)}" x2="{n(bx)}" y2="{n(by)}" stroke="{color}" '
            'stroke-width="1.5"/>',
            f'<polygon points="{n(x2)},{n(y2)} {n(bx + px)},{n(by + py)} {n(bx - px)},{n(by - py)}" '
            f'fill="{color}"/>']


def _width(text: str) -> int:
    return sum(14 if ord(c) > 0x2E80 else 7 for c in text)  # wide glyphs (Korean) count double


def revision_graph(revisions: Iterable[tuple[str, tuple[str, ...], str]],
                   current: Iterable[str] = ()) -> Picture:
    """The revisions as a graph: base at the bottom, heads on top, an arrow from each
    revision to its parent (two for a merge), the database's revision(s) in bold blue.
    REVISIONS: (revision, down revisions, message) for each."""
    from xml.sax.saxutils import escape

    revs = {r: (tuple(sorted(d)), m) for r, d, m in revisions}
    at = set(current)
    depth: dict[str, int] = {}

    def level(r: str) -> int:
        if r not in depth:
            depth[r] = 1 + max((level(p) for p in revs[r][0] if p in revs), default=-1)
        return depth[r]

    for r in sorted(revs):
        level(r)
    parents = {p for r in revs for p in revs[r][0]}
    heads = sorted(r for r in revs if r not in parents)
    levels: dict[int, list[str]] = {}
    for r in sorted(revs, key=lambda r: (depth[r], r)):
        levels.setdefault(depth[r], []).append(r)
    marks = {r: (" (head)" if r in heads else "") + (" ◀ database" if r in at else "") for r in revs}
    labels = {r: f"{r}  {revs[r][1]}{marks[r].replace(' (', '  (').replace(' ◀', '  ◀')}" for r in revs}
    box_w = max([_width(s) for s in labels.values()] + [120]) + 20
    box_h, gap_x, gap_y, pad = 28, 30, 34, 16
    columns = max((len(v) for v in levels.values()), default=1)
    width = pad * 2 + columns * box_w + (columns - 1) * gap_x
    height = pad * 2 + len(levels) * box_h + max(len(levels) - 1, 0) * gap_y
    pos = {}
    for lvl, rs in levels.items():
        y = height - pad - box_h - lvl * (box_h + gap_y)
        x0 = (width - (len(rs) * box_w + (len(rs) - 1) * gap_x)) // 2
        for i, r in enumerate(rs):
            pos[r] = (x0 + i * (box_w + gap_x), y)
    body = []
    children: dict[str, list[str]] = {}
    for r in sorted(revs, key=lambda r: pos[r][0]):
        for p in revs[r][0]:
            children.setdefault(p, []).append(r)
    for r in sorted(revs):
        x, y = pos[r]
        for p in revs[r][0]:
            if p in pos:
                px, py = pos[p]
                # Children of a branch point arrive side by side, not on one spot.
                siblings = children[p]
                offset = (siblings.index(r) - (len(siblings) - 1) / 2) * 16
                body += _arrow(x + box_w / 2, y + box_h, px + box_w / 2 + offset, py)
    for r in sorted(revs):
        x, y = pos[r]
        stroke, fill = ("3", "#dbeafe") if r in at else ("1", "#f3f4f6")
        body.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="4" fill="{fill}" '
                    f'stroke="#1f2937" stroke-width="{stroke}"/>')
        body.append(f'<text x="{x + 10}" y="{y + 18}" fill="#111827">{escape(labels[r])}</text>')
    text = "\n".join(f"{', '.join(revs[r][0]) or '<base>'} -> {r}{marks[r]}, {revs[r][1]}"
                     for r in sorted(revs, key=lambda r: (-depth[r], r)))
    return Picture(_svg(width, height, body), text or "(no revisions)")


def schema_picture(schema: Schema) -> Picture:
    """The tables (alembic_version aside) with their columns, and an arrow for each
    foreign key from its column to the table it refers to."""
    import re
    from xml.sax.saxutils import escape

    tables = {name: t for name, t in schema.tables.items() if name != "alembic_version"}
    if not tables:
        empty = '<text x="16" y="24" fill="#111827">(no tables)</text>'
        return Picture(_svg(200, 40, [empty]), "(no tables)")
    keys: dict[str, set[str]] = {}
    refers: dict[tuple[str, str], str] = {}
    for table in tables.values():
        for index in table.indexes:
            if index.definition.startswith("PRIMARY KEY"):
                columns = index.definition.split("(", 1)[1].rstrip(")").split(",")
                keys[table.name] = {c.strip() for c in columns}
        for constraint in table.constraints:
            found = re.match(r"FOREIGN KEY \((\w+)\) REFERENCES (\w+)\(", constraint.definition)
            if found:
                refers[(table.name, found[1])] = found[2]
    level: dict[str, int] = {}

    def depth(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in level:
            parents = {p for (t, _), p in refers.items() if t == name and p != name and p not in seen}
            level[name] = 1 + max((depth(p, (*seen, name)) for p in parents if p in tables), default=-1)
        return level[name]

    names = sorted(tables, key=lambda t: (depth(t), t))
    row_h, head_h, pad, gap_x, gap_y, per_row = 20, 24, 16, 70, 40, 3

    def line(table: str, c: Column) -> str:
        tags = (" PK" if c.name in keys.get(table, ()) else "") + (" FK" if (table, c.name) in refers else "")
        return f"{c.name} {c.type}{tags}"

    col_w = max(_width(line(t, c)) + 24 for t in names for c in tables[t].columns)
    col_w = max(col_w, *(_width(t) + 24 for t in names))
    heights = {t: head_h + row_h * len(tables[t].columns) + 6 for t in names}
    pos, y = {}, pad + 24  # room above the tables for arrows that go over one
    for i in range(0, len(names), per_row):
        row = names[i:i + per_row]
        for j, t in enumerate(row):
            pos[t] = (pad + j * (col_w + gap_x), y)
        y += max(heights[t] for t in row) + gap_y
    shown = min(per_row, len(names))
    width, height = pad * 2 + shown * col_w + (shown - 1) * gap_x, y - gap_y + pad
    body, edges = [], []
    for t in names:
        x, top = pos[t]
        body.append(f'<rect x="{x}" y="{top}" width="{col_w}" height="{heights[t]}" fill="#ffffff" '
                    'stroke="#1f2937"/>')
        body.append(f'<rect x="{x}" y="{top}" width="{col_w}" height="{head_h}" fill="#e0e7ff" '
                    'stroke="#1f2937"/>')
        body.append(f'<text x="{x + 8}" y="{top + 16}" font-weight="bold" fill="#111827">{escape(t)}</text>')
        for k, c in enumerate(tables[t].columns):
            cy = top + head_h + k * row_h + 15
            body.append(f'<text x="{x + 8}" y="{cy}" fill="#111827">{escape(line(t, c))}</text>')
            if (t, c.name) in refers and refers[(t, c.name)] in pos:
                edges.append((x, cy - 4, refers[(t, c.name)]))
    for n, (x, cy, target) in enumerate(edges):
        tx, ty = pos[target]
        top = min((pos[t][1] for t in pos if pos[t][1] == ty or pos[t][0] == x), default=ty)
        between = [t for t in pos if pos[t][1] == ty and min(x, tx) < pos[t][0] < max(x, tx)]
        if between:
            # Another table stands between them: out to the side, over the top, down into it.
            edge, out = (x + col_w, x + col_w + 8) if tx > x else (x, x - 8)
            lane, target_x = top - 8 - 5 * (n % 3), tx + col_w / 2
            points = [(edge, cy), (out, cy), (out, lane), (target_x, lane)]
            route = " ".join(f"{_number(px)},{_number(py)}" for px, py in points)
            body.append(f'<polyline points="{route}" fill="none" stroke="#b45309" stroke-width="1.5"/>')
            body += _arrow(target_x, lane, target_x, ty, "#b45309")
            continue
        if tx == x:
            # One above the other: out to the right, up, and into the header's side.
            out, arrive = x + col_w + 12 + 4 * (n % 3), ty + head_h / 2
            corners = [(x + col_w, cy), (out, cy), (out, arrive)]
            route = " ".join(f"{_number(px)},{_number(py)}" for px, py in corners)
            body.append(f'<polyline points="{route}" fill="none" stroke="#b45309" stroke-width="1.5"/>')
            body += _arrow(out, arrive, x + col_w, arrive, "#b45309")
            continue
        x1, x2 = (x, tx + col_w) if tx < x else (x + col_w, tx)
        body += _arrow(x1, cy, x2, ty + head_h / 2, "#b45309")
    text = "\n".join(
        f"{t}(" + ", ".join(line(t, c) + (f" -> {refers[(t, c.name)]}" if (t, c.name) in refers else "")
                            for c in tables[t].columns) + ")" for t in sorted(tables))
    return Picture(_svg(width, height, body), text)
