# annexa — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
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

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(VENV) .annexa .mypy_cache .pytest_cache .ruff_cache
