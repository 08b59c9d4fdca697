"""Exercise checks judge the learner's real database: the tables, not only the version row,
and their hints name a command that does something."""

import pytest

from migrationlab import Lab
from migrationlab.lessons import moving_through_history, where_am_i


@pytest.fixture
def lab():
    lab = Lab()
    yield lab
    lab.close()


def test_schema_revision_reads_the_tables_not_the_version_row(lab, capsys):
    assert lab.schema_revision() == "base"
    lab.alembic("upgrade 002")
    assert lab.schema_revision() == "002"
    lab.alembic("upgrade head")
    lab.sql("update alembic_version set version_num = '002'")
    assert lab.schema_revision() == "003"
    lab.sql("alter table users add column surprise int")
    assert lab.schema_revision() is None


def test_a_hint_never_suggests_a_command_that_does_nothing(lab, capsys):
    """The row says 002 but users has is_active (003's column): `upgrade 002` would do
    nothing; the hint says the two disagree and how to make the row true."""
    lab.alembic("upgrade head")
    lab.sql("update alembic_version set version_num = '002'")
    capsys.readouterr()
    assert not moving_through_history.exercise_1(lab)
    assert not where_am_i.exercise_1(lab)
    for line in capsys.readouterr().out.splitlines():
        assert line.startswith("✘ Not yet: alembic_version says 002, but the tables are those of 003")
        assert 'lab.alembic("stamp 003")' in line and "upgrade 002" not in line


def test_the_right_state_is_right(lab, capsys):
    lab.alembic("upgrade 002")
    capsys.readouterr()
    assert moving_through_history.exercise_1(lab)
    assert where_am_i.exercise_1(lab)
    assert all(line.startswith("✔ Right") for line in capsys.readouterr().out.splitlines())
