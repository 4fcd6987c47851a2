# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.medgrade-setup
# The data stand-ins live in the course tree (git-ignored) so a clone is self-contained.
export MEDGRADE_DATA ?= $(CURDIR)/data
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test test-fast lint bench clean-class

setup: $(STAMP)

# Re-run only when the dependency declarations change: a second `make setup` takes seconds.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' || { \
	  echo "constraints.txt pins versions tested on Python 3.11.7; $$($(PYTHON) --version) at" \
	       "$$(command -v $(PYTHON)) is older than 3.11.5. Run: make PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt pip setuptools wheel numpy
	# pyradiomics 3.0.1 compiles against the installed numpy; its isolated build would not.
	$(BIN)/pip install -q -c constraints.txt --no-build-isolation pyradiomics==3.0.1
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,otter,radiomics,dask]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

demo: setup
	$(BIN)/medgrade demo

test: setup
	# Feedback pages are opened in headless Chromium by tests/gradebook (skipped where it cannot install).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || \
	  echo "chromium could not be installed: the browser tests will be skipped" >&2
	$(BIN)/ruff check medgrade tests benchmarks
	$(BIN)/mypy
	$(BIN)/medgrade data generate
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25

lint: setup
	$(BIN)/ruff check medgrade tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/data_generation.py
	$(BIN)/python benchmarks/grading_throughput.py

clean-class:
	find submitted autograded gradebook -mindepth 1 ! -name README.md -delete
