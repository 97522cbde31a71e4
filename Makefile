PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FASHION_MNIST := /usr/share/datasets/fashion-mnist

.PHONY: demo test lint bench data browser venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The CLI's extra (tqdm, matplotlib) for the demo; the test extra adds pytest, ruff, mypy and
# torch (the oracle of the tests).
$(VENV)/.installed-cli: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[cli]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[bench]'
	touch $@

venv: $(VENV)/.installed-test

# Fashion-MNIST: Debian's package where apt works and we are root, else the official files
# (checked against their MD5 sums) into ~/.cache/layerwise. With LAYERWISE_DATA set, that folder
# is the only one layerwise reads the data from, so the files are downloaded into it when it
# does not hold them yet (as `layerwise download` and `layerwise train` see it).
data: $(VENV)/.installed-cli
	@if [ -z "$$LAYERWISE_DATA" ] && [ -f $(FASHION_MNIST)/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "fashion-mnist: present"; \
	elif [ -z "$$LAYERWISE_DATA" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist || \
	    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; }; }; then \
	  echo "fashion-mnist: installed from Debian's dataset-fashion-mnist"; \
	else \
	  $(BIN)/layerwise download fashion-mnist; \
	fi

# Headless Chromium for the report's browser test (tests/test_report.py): Debian's chromium
# package where apt works and we are root; elsewhere that test is skipped and says why.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  [ -n "$$LAYERWISE_CHROMIUM" ]; then \
	  echo "chromium: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium || \
	    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }; }; then \
	  echo "chromium: installed from Debian's chromium package"; \
	else \
	  echo "chromium: not installed (needs root and apt-get); the browser test of the report is skipped"; \
	fi

demo: data
	$(BIN)/layerwise train

lint: venv
	$(BIN)/ruff check layerwise tests benchmarks
	$(BIN)/mypy

test: lint data browser
	$(BIN)/python -m pytest -q

# Speed and memory against PyTorch and scikit-learn; writes docs/benchmarks.md (minutes, not
# part of the tests).
bench: $(VENV)/.installed-bench data
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
