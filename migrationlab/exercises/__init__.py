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
