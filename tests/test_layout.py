"""The kit's layout stays easy to see: a small core, infrastructure in its own package,
one lesson module per notebook, one front end to alembic."""

from __future__ import annotations

import ast
import importlib.metadata
import pkgutil
import sys
from pathlib import Path

import alembic
import fastapi
import sqlalchemy
import sqlmodel

from tests.conftest import REPO

KIT = REPO / "migrationlab"
LESSONS = KIT / "lessons"


def modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_core_is_small():
    top = sorted(p.name for p in KIT.glob("*.py"))
    assert len(top) <= 8, top
    packages = sorted(p.name for p in KIT.iterdir() if (p / "__init__.py").exists())
    assert packages == ["infra", "lessons"]


def test_one_lesson_module_per_notebook():
    notebooks = {p.stem[3:].lower() for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")
                 if not p.name.startswith("00_")}
    lessons = {p.stem for p in LESSONS.glob("*.py") if p.stem != "__init__"}
    assert notebooks == lessons


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_lesson_imports_another():
    lessons = {f"migrationlab.lessons.{p.stem}" for p in LESSONS.glob("*.py") if p.stem != "__init__"}
    for path in LESSONS.glob("*.py"):
        others = imported(path) & lessons - {f"migrationlab.lessons.{path.stem}"}
        assert not others, f"{path.name} imports {others}"


def test_infrastructure_knows_nothing_of_lessons():
    for path in modules(KIT / "infra"):
        kit = {n for n in imported(path) if n.startswith("migrationlab.")}
        assert all(n.startswith(("migrationlab.infra", "migrationlab.errors")) for n in kit), (path, kit)


def test_alembic_config_and_script_directory_are_built_in_one_place():
    builders = [
        path.relative_to(REPO).as_posix()
        for path in [*modules(KIT), *modules(REPO / "scripts")]
        if {"alembic.config.Config", "alembic.script.ScriptDirectory"} & imported(path)
    ]
    assert builders == ["migrationlab/project.py"]


def test_no_module_shadows_a_library():
    libraries = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    for package in (alembic, sqlalchemy, sqlmodel, fastapi):
        libraries |= {m.name for m in pkgutil.iter_modules(package.__path__)}
    ours = {p.stem for p in modules(KIT)} - {"__init__", "__main__"}
    assert not ours & libraries, ours & libraries


def test_the_practice_copy_is_never_committed():
    """notebooks/practice/ is each learner's own (make lab makes it; git ignores it)."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files", "notebooks/practice"], cwd=REPO,
                             capture_output=True, text=True).stdout
    assert tracked == ""


def test_nothing_imports_a_private_name_of_another_module():
    for path in modules(KIT):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("migrationlab"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
