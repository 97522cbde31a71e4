PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint check venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

venv: $(VENV)/.test-installed

lint: venv
	$(BIN)/ruff check layerwise tests
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
