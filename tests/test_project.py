"""The project front end: alembic in-process reads the files as they are now, whatever
Python cached, and is safe to use from threads."""

import os
import subprocess
import sys
import threading

import pytest

from migrationlab.project import Project, captured

OLD = "down_revision: str | Sequence[str] | None = '003'"
NEW = "down_revision: str | Sequence[str] | None = '002'"  # the same size


@pytest.fixture
def scratch():
    project = Project.scratch()
    yield project
    project.close()


def same_size_same_second_edit(path, old: str, new: str) -> None:
    """Edit PATH as a lesson does within one second: same size, same mtime, which is
    all Python's bytecode cache checks."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def as_a_learners_python(monkeypatch) -> None:
    """Python's defaults on a learner's machine: bytecode caches are written."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)


def test_an_edited_revision_is_never_run_from_a_stale_cache(scratch, db, monkeypatch):
    as_a_learners_python(monkeypatch)
    assert scratch.alembic("revision -m 'add phone' --rev-id 004", db.url).ok
    revision = scratch.path("alembic/versions/004_add_phone.py")
    assert scratch.heads() == ["004"]
    # A terminal's `alembic heads` (a Python that writes caches) caches the file too.
    subprocess.run([sys.executable, "-m", "alembic", "heads"], cwd=scratch.root, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": "postgresql://x@/y"})
    assert list(scratch.root.glob("alembic/versions/__pycache__/004_add_phone.*.pyc"))

    same_size_same_second_edit(revision, OLD, NEW)

    assert "003 (head)\n004 (head)" in scratch.alembic("heads", db.url).output
    assert scratch.heads() == ["003", "004"]


def test_an_edited_model_is_never_imported_from_a_stale_cache(scratch, monkeypatch):
    as_a_learners_python(monkeypatch)
    models = scratch.path("app/api/users/models.py")
    column = lambda: scratch.import_app("app.models").metadata.tables["users"].c.name.type.length  # noqa: E731
    assert column() == 100
    subprocess.run([sys.executable, "-c", "import app.models"], cwd=scratch.root, check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})

    same_size_same_second_edit(models, "max_length=100", "max_length=120")

    assert column() == 120


def test_in_process_commands_leave_no_cache_in_the_project(scratch, db, monkeypatch):
    as_a_learners_python(monkeypatch)
    assert scratch.alembic("upgrade head", db.url).ok
    scratch.import_app("app.models")
    # Last: every call reads the files afresh, and so first removes caches left before it.
    assert scratch.heads() == ["003"]
    assert [r.revision for r in scratch.script().walk_revisions()] == ["003", "002", "001"]
    assert not list(scratch.root.rglob("__pycache__"))


def test_commands_from_many_threads_each_get_their_own_output(scratch, db):
    """A migration captured in one thread does not swallow another thread's prints, and
    concurrent in-process commands (which share the interpreter's state) all succeed."""
    results, printed = {}, {}

    def run(i: int) -> None:
        results[i] = scratch.alembic("heads", db.url)
        with captured() as mine:
            print(f"thread {i} was here")
        printed[i] = mine.getvalue()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok and r.output == "003 (head)\n" for r in results.values()), results
    assert printed == {i: f"thread {i} was here\n" for i in range(12)}


def test_twenty_labs_in_threads_each_work_alone():
    """As a learner running migrations in background threads would: every Lab gets its own
    database and (half of them) its own scratch copy, every command its own output, and
    nothing process-wide is left changed."""
    from migrationlab import Lab

    cwd, path, env = os.getcwd(), list(sys.path), dict(os.environ)
    results: dict[int, tuple] = {}

    def work(i: int) -> None:
        try:
            with captured() as shown:
                lab = Lab(scratch=i % 2 == 0)
                result = lab.alembic("upgrade head")
            version = lab.query("select version_num from alembic_version")
            results[i] = (result.ok, "Running upgrade 002 -> 003" in shown.getvalue(), version, lab)
        except Exception as error:  # noqa: BLE001 (reported below)
            results[i] = (error,)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert all(r[:3] == (True, True, [("003",)]) for r in results.values()), results
        assert len({r[3].db.name for r in results.values()}) == 20
        assert (os.getcwd(), sys.path, dict(os.environ)) == (cwd, path, env)
    finally:
        for r in results.values():
            if len(r) == 4:
                r[3].close()
