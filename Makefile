# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   creates .venv, installs oneshop with its sandboxes, runs the demo on them
#   make test   installs the sandboxes and test dependencies, runs ruff, mypy --strict, pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SEEDS ?= 50
FIRST ?= 1

.PHONY: demo test lint typecheck pytest sim bench install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "oneshop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The service alone is `pip install .`; the demo needs the marketplace emulators, the
# `oneshop-sandboxes` distribution in sandboxes/. Both are named in one pip command: the
# `sandbox` extra asks for oneshop-sandboxes by name, and only a local candidate given in
# the same command satisfies it without an index.
INSTALL := $(BIN)/python -m pip install -q -e ./sandboxes

$(VENV)/.installed: $(BIN)/python pyproject.toml sandboxes/pyproject.toml
	$(INSTALL) -e '.[sandbox]'
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml sandboxes/pyproject.toml
	$(INSTALL) -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/oneshop demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src connectors sandboxes tests bench sim

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy src connectors sandboxes sim

pytest: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: lint typecheck pytest

# The simulation is a development tool in sim/ (not installed): run from the repo root.
sim: $(VENV)/.installed-test
	$(BIN)/python -m sim --first $(FIRST) --seeds $(SEEDS)

# Every benchmark but the real-time burst (an hour of wall clock: run it on its own);
# each prints its figures, and the ones that miss their target are listed at the end.
bench: $(VENV)/.installed-test
	@missed=""; for b in bench/*.py; do \
	  [ "$$b" = bench/load_burst_real.py ] && continue; \
	  echo "== $$b"; PYTHONPATH=. $(BIN)/python $$b || missed="$$missed $$b"; done; \
	  if [ -n "$$missed" ]; then echo "missed their target:$$missed"; exit 1; fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
