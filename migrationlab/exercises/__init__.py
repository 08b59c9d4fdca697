"""Exercise checks: each notebook's module here checks the learner's own database.

A check prints one verdict line and returns whether it was right::

    verdict(ok, right="the database is at 002", not_yet="run `alembic downgrade -1` first")
"""


class Verdict:
    """True or false like a bool; a notebook shows only the printed line, not the value."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict({self.ok})"

    def _ipython_display_(self) -> None:
        pass


def verdict(ok: bool, *, right: str, not_yet: str) -> Verdict:
    """Print the verdict for one exercise."""
    print(f"✔ Right: {right}" if ok else f"✘ Not yet: {not_yet}")
    return Verdict(ok)


def versions(lab) -> list[str] | None:
    """The rows of alembic_version (None: the table does not exist)."""
    from migrationlab.display import table_names

    if "alembic_version" not in table_names(lab.engine):
        return None
    return sorted(r[0] for r in lab.query("select version_num from alembic_version"))


def disagreement(lab, rows: list[str] | None) -> str | None:
    """If alembic_version and the tables disagree, the hint that says so and how to put the
    row right (a command chosen from what the tables are, not from what the row says)."""
    actual = lab.schema_revision()
    said = ", ".join(rows) if rows else "nothing"
    if actual is None or rows == [actual] or (actual == "base" and not rows):
        return None
    return (
        f"alembic_version says {said}, but the tables are those of {actual}; make the row "
        f'tell the truth first with lab.alembic("stamp {actual}")'
    )
