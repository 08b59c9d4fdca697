"""The notebook series as a product: generated navigation, the guide fully covered,
and the repository untouched after every notebook has run (nbval runs them)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO

# The team's guide, as the team wrote it (the project carries its own copy).
GUIDE = REPO / "notebooks" / "guide" / "alembic-migration-guide.md"
TEAM_COPY = REPO.parent / "shared" / "seeds" / "000_902ca205506c2a4c.txt"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def normalise(command: str) -> str:
    """An alembic command without its message and revision id, which vary by lesson."""
    tokens = shlex.split(command.split("#", 1)[0])
    kept, skip = [], False
    for token in tokens:
        if skip:
            skip = False
        elif token in ("-m", "--message", "--rev-id"):
            skip = True
        else:
            kept.append(token)
    return " ".join(kept)


def guide_commands() -> set[str]:
    text = GUIDE.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return {
        normalise(line) for block in blocks for line in block.splitlines()
        if line.strip().startswith("alembic ")
    }


def executed_commands() -> set[str]:
    """Every `$ alembic ...` line in the stored outputs (nbval proves they are real)."""
    found = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text = output.get("text", "")
                found |= {normalise(m) for m in re.findall(r"^\$ (alembic [^\n]*)$", text, re.M)}
    return found


def test_every_alembic_command_of_the_guide_runs_in_a_notebook():
    wanted = guide_commands()
    assert {"alembic upgrade head --sql", "alembic show 001", "alembic downgrade base"} <= wanted
    missing = wanted - executed_commands()
    assert not missing, f"never executed in a notebook: {sorted(missing)}"


@pytest.mark.skipif(not TEAM_COPY.exists(), reason=f"no team copy of the guide beside the repo ({TEAM_COPY})")
def test_the_guide_is_the_teams_own_text():
    assert GUIDE.read_bytes() == TEAM_COPY.read_bytes()


def test_navigation_and_index_are_generated():
    result = subprocess.run(
        [sys.executable, "scripts/notebooks.py", "nav", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path: Path):
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    if path.name == "00_Index.ipynb":
        assert "## The series" in markdown
        return
    for heading in ("## What you will learn", "## Summary", "## Exercises"):
        assert heading in markdown, f"{path.name} lacks {heading}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Outputs are stored (nbval compares them): every cell was executed, in order.
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: stored outputs are not from one top-to-bottom run; run `make notebooks NB={path.name}`"
    )
    # Every code cell is introduced by a sentence ending in a colon.
    def introduced(i: int) -> bool:
        before = nb.cells[i - 1]
        return before.cell_type == "markdown" and before.source.rstrip().endswith(":")

    unintroduced = [c.source.splitlines()[0] for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and not introduced(i)]
    assert not unintroduced, f"{path.name}: no sentence ending in ':' before {unintroduced}"
    # A file a lesson writes is a %%lab_file cell: the file itself, as long as it is.
    files = [c for c in code if c.source.startswith("%%lab_file ")]
    too_long = [c.source.splitlines()[0] for c in code if c not in files and len(c.source.splitlines()) > 12]
    assert not too_long, f"{path.name}: code cells over 12 lines (move plumbing to a helper): {too_long}"
    # ... never a file's code inside a Python string (SQL for lab.sql may be one).
    hidden = [c.source.splitlines()[0] for c in code if c not in files
              and ("'''" in c.source or ".edit(" in c.source or ".write(" in c.source)]
    assert not hidden, f"{path.name}: file text inside a Python string (use %%lab_file): {hidden}"


def test_a_failure_report_in_a_log_file_has_no_colour_codes(tmp_path):
    """nbval colours its reports and IPython its tracebacks even where output is not a
    terminal; the suite strips them there (a CI log, `make test > log`)."""
    result = run_nbval(tmp_path / "stale.ipynb", [
        nbformat.v4.new_code_cell("print('now')", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="then\n")]),
        nbformat.v4.new_code_cell("1/0"),
    ])
    assert "2 failed" in result.stdout, result.stdout
    assert "ZeroDivisionError" in result.stdout and "then" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr


def test_a_cell_that_printed_what_it_should_not_shows_it(tmp_path):
    """nbval reports an unexpected stderr output without its text; the suite adds what
    the failed cell printed, so a rare failure in a CI log can be understood."""
    result = run_nbval(tmp_path / "noisy.ipynb", [
        nbformat.v4.new_code_cell("import sys; print('fine'); print('port 8000 in use', file=sys.stderr)",
                                  execution_count=1, outputs=[
                                      nbformat.v4.new_output("stream", name="stdout", text="fine\n")]),
    ])
    assert "1 failed" in result.stdout, result.stdout
    assert "what the cell printed in this run" in result.stdout, result.stdout
    assert "[stderr] port 8000 in use" in result.stdout, result.stdout


def test_a_learners_saved_notebook_is_named_with_how_to_keep_it_aside(tmp_path):
    """A notebook the learner edited and saved fails under nbval (its outputs are theirs):
    the report says which notebooks have local changes and how to keep them aside."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    mine = clone / "notebooks" / "02_Where_Am_I.ipynb"
    notebook = nbformat.read(mine, as_version=4)
    notebook.cells = [nbformat.v4.new_code_cell("print('mine')", execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="saved by the learner\n")])]
    nbformat.write(notebook, mine)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n0", "-p", "no:randomly", "notebooks/02_Where_Am_I.ipynb"],
        cwd=clone, capture_output=True, text=True,
    )
    assert "1 failed" in result.stdout, result.stdout
    assert "notebooks with local changes: notebooks/02_Where_Am_I.ipynb;" in result.stdout, result.stdout
    assert "git stash push --include-untracked -- notebooks" in result.stdout, result.stdout


def run_nbval(path: Path, cells: list) -> subprocess.CompletedProcess:
    """Write CELLS as the notebook PATH and check it with nbval and this suite's conftest,
    in a pytest of its own."""
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "--rootdir", str(path.parent),
         "--nbval", str(path)],
        cwd=REPO, capture_output=True, text=True,
    )


def guide_anchors() -> set[str]:
    """The anchors a code host gives the guide's headings (lower case, punctuation dropped,
    spaces as '-', a repeated heading numbered), code blocks skipped."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in GUIDE.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            anchor = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            count = seen.get(anchor)
            seen[anchor] = 0 if count is None else count + 1
            anchors.add(anchor if count is None else f"{anchor}-{count + 1}")
    return anchors


def guide_links(path: Path) -> list[str]:
    markdown = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "markdown")
    return re.findall(r"\]\((?:\.\./)?guide/alembic-migration-guide\.md#([^)\s]+)\)", markdown)


def test_links_to_the_guide_reach_its_sections():
    anchors = guide_anchors()
    assert {"1-현재-마이그레이션-상태-확인", "문제-마이그레이션-충돌", "통합-fastapi와-alembic"} <= anchors
    broken = {p.name: sorted(set(guide_links(p)) - anchors) for p in NOTEBOOKS}
    assert not any(broken.values()), broken


def test_every_lesson_on_the_guide_links_the_section_it_teaches():
    lessons = [p for p in NOTEBOOKS if re.match(r"(0[1-9]|1[01])_", p.name)]
    assert len(lessons) == 11
    missing = [p.name for p in lessons if not guide_links(p)]
    assert not missing, f"no link to the guide's sections: {missing}"
