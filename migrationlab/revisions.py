"""Revision files written by a lesson, exactly as `alembic revision` writes them.

The text comes from the project's own alembic/script.py.mako, so a hand-written
revision in a notebook looks like every other file in alembic/versions::

    write_revision(lab, "004", revises="003", message="Create comments table",
                   upgrade='op.create_table("comments", sa.Column("id", sa.Integer(), primary_key=True))',
                   downgrade='op.drop_table("comments")')
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from alembic.util import format_as_comma
from mako.template import Template

# Lessons' files must read the same on every run: a fixed date, not alembic's now().
CREATE_DATE = "2026-03-02 09:00:00.000000"


def revision_text(
    project_root: Path, rev: str, revises: str | None, message: str, *, upgrade: str, downgrade: str
) -> str:
    """The file `alembic revision -m MESSAGE --rev-id REV` would write, with UPGRADE and
    DOWNGRADE (code, dedented) as the bodies of the two functions."""
    template = Template(filename=str(project_root / "alembic" / "script.py.mako"))
    return template.render_unicode(
        up_revision=rev,
        down_revision=revises,
        branch_labels=None,
        depends_on=None,
        create_date=CREATE_DATE,
        message=message,
        imports="",
        upgrades=_body(upgrade),
        downgrades=_body(downgrade),
        comma=format_as_comma,
    )


def revision_path(rev: str, message: str) -> str:
    """Where alembic puts the file, after alembic.ini's file_template: versions/<rev>_<slug>.py."""
    slug = "_".join(re.findall(r"\w+", message)).lower()
    if len(slug) > 40:  # alembic.ini's truncate_slug_length, cut as alembic cuts it
        slug = slug[:40].rsplit("_", 1)[0] + "_"
    return f"alembic/versions/{rev}_{slug}.py"


def write_revision(lab, rev: str, *, revises: str | None, message: str, upgrade: str, downgrade: str) -> str:
    """Write the revision file into LAB's scratch copy; returns its project-relative path."""
    path = revision_path(rev, message)
    lab.write(path, revision_text(lab.project.root, rev, revises, message,
                                  upgrade=upgrade, downgrade=downgrade))
    return path


def _body(code: str) -> str:
    # The template indents the first line itself; the rest need the function's indent.
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ").lstrip(" ")
