"""The Korean track: a twin of every notebook, with the English notebook's code cells and
Korean prose that is never stale; exercise verdicts in Korean there."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
KO = NOTEBOOKS / "ko"
ENGLISH = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
HEADINGS = {"## What you will learn": "## 배울 내용", "## Summary": "## 정리", "## Exercises": "## 연습 문제"}


def load_builder(root: Path):
    """scripts/notebooks.py, pointed at ROOT's notebooks (a copy, for tests that change them)."""
    spec = importlib.util.spec_from_file_location(f"notebooks_{id(root)}", REPO / "scripts" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.NOTEBOOKS, module.KO, module.PROSE = root, root / "ko", root / "ko" / "prose"
    return module


def test_every_notebook_has_a_korean_twin_with_the_same_code():
    for english in ENGLISH:
        twin = KO / english.name
        assert twin.exists(), f"no Korean twin of {english.name}"
        en, ko = (nbformat.read(p, as_version=4) for p in (english, twin))
        assert [c.cell_type for c in en.cells] == [c.cell_type for c in ko.cells], english.name
        assert [c.source for c in en.cells if c.cell_type == "code"] == \
               [c.source for c in ko.cells if c.cell_type == "code"], english.name
        assert [c.id for c in en.cells] == [c.id for c in ko.cells], english.name


TWINS = sorted(p for p in KO.glob("[0-9][0-9]_*.ipynb") if p.name != "00_Index.ipynb")


@pytest.mark.parametrize("path", TWINS, ids=lambda p: p.name)
def test_korean_twin_shape(path: Path):
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in HEADINGS.values():
        assert heading in markdown, f"{path.name} lacks {heading}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        f"ko/{path.name}: run it: python scripts/notebooks.py run ko/{path.name}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert nb.cells[i - 1].source.rstrip().endswith(":"), f"ko/{path.name}: {cell.source[:40]}"
    # Its exercise checks answered in Korean (the kernel ran in notebooks/ko/).
    shown = nbformat.writes(nb)
    assert "✘ 아직입니다" in shown or "✔ 맞았습니다" in shown, f"ko/{path.name}: verdicts not in Korean"


def test_a_changed_english_cell_makes_its_translation_stale(tmp_path):
    """The check that keeps the tracks in step can fail: change one English markdown cell,
    and its Korean text is reported stale; drop a translation, and it is reported missing."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns("practice", ".ipynb_checkpoints"))
    builder = load_builder(root)
    problems: list[str] = []
    builder.build(problems)
    assert problems == []
    name = "02_Where_Am_I.ipynb"
    nb = nbformat.read(root / name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and "## What you will learn" in c.source)
    cell.source += "\n- one more thing to learn"
    (root / name).write_text(builder.render(nb, name))
    prose = root / "ko" / "prose" / "03_Moving_Through_History.md"
    entries = builder.read_prose(prose)
    dropped = next(iter(entries))
    del entries[dropped]
    builder.write_prose(prose, entries, list(entries))
    problems = []
    builder.build(problems)
    assert problems == [
        f"{name}: cell {cell.id}'s Korean is stale: the English changed after it",
        f"03_Moving_Through_History.ipynb: cell {dropped} has no Korean text "
        "(python scripts/notebooks.py prose 03_Moving_Through_History.ipynb)",
    ]


def test_every_exercise_verdict_has_its_korean():
    """Every verdict(...) and not_yet(...) a lesson prints says it in Korean too (ko=...,
    or a Hint that carries it)."""
    missing = []
    for path in sorted((REPO / "migrationlab" / "lessons").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("verdict", "not_yet"):
                if not any(k.arg == "ko" for k in node.keywords):
                    missing.append(f"{path.name}:{node.lineno}")
    assert not missing, f"verdicts without Korean: {missing}"


def test_a_kernel_in_the_korean_track_reads_verdicts_in_korean(monkeypatch, capsys, tmp_path):
    from migrationlab.lessons import verdict

    monkeypatch.delenv("LAB_LANGUAGE", raising=False)
    (tmp_path / "ko").mkdir()
    monkeypatch.chdir(tmp_path / "ko")  # where a Korean twin's kernel runs
    verdict(False, right="r", not_yet="not yet", ko=("맞음", "아직"))
    monkeypatch.chdir(tmp_path)
    verdict(False, right="r", not_yet="not yet", ko=("맞음", "아직"))
    assert capsys.readouterr().out == "✘ 아직입니다: 아직\n✘ Not yet: not yet\n"
