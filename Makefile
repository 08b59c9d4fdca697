# Alembic Migration Lab: every entry point. Each target creates .venv first if
# it is missing (or older than pyproject.toml); only Python 3.11+ is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_ARGS ?=
# Tests run on every core (notebooks in parallel, each whole on one worker).
PYTEST_ARGS ?= -n auto
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_ARGS := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# A JupyterLab terminal starts in the practice copy, with the practice database
# (python -m migrationlab terminal): the guide's commands work there as typed. -P keeps
# the directory JupyterLab asked for off Python's path. A JSON list survives spaces.
TERMINAL := '--ServerApp.terminado_settings=shell_command=["$(abspath $(BIN))/python","-P","-m","migrationlab","terminal"]'
# .md files (the team's guide) open rendered, in Markdown Preview; notebooks are saved when
# you save them (File > Save), not every two minutes: opening a lesson never changes it.
LAB_SETTINGS := --LabApp.app_settings_dir=$(abspath migrationlab/lab-settings)

.PHONY: install lab test test-docker bench notebooks nav reap practice-reset lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## lab: JupyterLab on notebooks/ with a disposable PostgreSQL; both stop together
lab: $(STAMP)
	@# Trusted, the lessons' stored pictures (SVG) show before you run anything.
	@$(BIN)/jupyter trust notebooks/*.ipynb notebooks/ko/*.ipynb >/dev/null 2>&1 || true
	$(BIN)/python -m migrationlab serve -- $(BIN)/jupyter lab --notebook-dir=notebooks $(TERMINAL) $(LAB_SETTINGS) $(ROOT_ARGS) $(JUPYTER_ARGS)

## test: the whole suite (app, migrations, sandbox, every notebook under nbval)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-docker: the sandbox tests and three notebooks with the Docker backend forced
test-docker: $(STAMP)
	bash scripts/test-docker.sh

## bench: medians of the sandbox, alembic and notebook timings
bench: $(STAMP)
	$(BIN)/python scripts/bench.py

## notebooks: re-execute every notebook of both tracks (or NB="02_Where_Am_I.ipynb ko/02_Where_Am_I.ipynb")
notebooks: $(STAMP)
	$(BIN)/python scripts/notebooks.py run $(NB)

## nav: regenerate navigation, both indexes and the Korean twins (from notebooks/ko/prose/)
nav: $(STAMP)
	$(BIN)/python scripts/notebooks.py nav

## reap: remove servers, scratch copies and containers left by dead owners
reap: $(STAMP)
	$(BIN)/python -m migrationlab reap

## practice-reset: start the practice copy (notebooks/practice/, where terminals start) over
practice-reset: $(STAMP)
	$(BIN)/python -m migrationlab practice --reset

lint: $(STAMP)
	$(BIN)/ruff check app alembic migrationlab scripts tests conftest.py

clean:
	rm -rf $(VENV) *.egg-info
