# The two commands: `make build` publishes the site into site/, `make test` runs every check.
# Both create .venv and install the project into it on first use; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: build test lint serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(PY) build.py build

test: $(STAMP) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check stepwise tests build.py bench tools
	$(VENV)/bin/mypy

serve: $(STAMP)
	$(PY) build.py serve

bench: $(STAMP)
	$(PY) bench/page_weight.py

clean:
	rm -rf site .site-* .serve-site .stepwise-cache
