# Two commands for a fresh machine (README): `make demo` and `make test`.
# `make test-fast` is the developer's loop (no PostgreSQL, no browser, nothing slow); `make check` the
# code's shape (ruff, mypy, import contracts), which `make test` runs first.

# The machine's python3 if the project supports it, else the newest supported one found (or PYTHON=…).
# Keep the range in step with requires-python in pyproject.toml (3.12 and 3.13 tested as 3.11 is).
SUPPORTED := python3 python3.13 python3.12 python3.11
supported = $(shell command -v $(1) >/dev/null 2>&1 && $(1) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null && echo $(1))
PYTHON ?= $(firstword $(foreach p,$(SUPPORTED),$(call supported,$(p))))
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test test-fast check bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "no supported Python found (3.11 to 3.13): install one, or run make PYTHON=/path/to/python" >&2; exit 2; }
	@if [ -d $(VENV) ] && [ "$$($(BIN)/python -V 2>&1)" != "$$($(PYTHON) -V 2>&1)" ]; then \
		echo "$(VENV) was made by another Python: making it anew with $(PYTHON)"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/nominal demo

check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest -n 2

test-fast: $(STAMP)
	NOMINAL_SKIP_PG=1 $(BIN)/python -m pytest -n 2 -m "not slow and not browser and not postgres" -q

bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/run_all.py
