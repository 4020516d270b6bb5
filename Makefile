# The two README commands: `make demo` and `make test`.
# Python 3.11, 3.12 or 3.13 (pyproject's requires-python); PYTHON=python3.12 picks one.
SUPPORTED := 3.11 3.12 3.13
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 \
                  || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
comma  := ,
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: demo test lint bench install schema pythons stale-venv

# A .venv made by a Python CommonShelf does not support (or whose Python is gone) is
# rebuilt: pip would refuse to install into it, and it would stay broken.
VENV_PY := $(shell { test -e $(BIN)/python || test -L $(BIN)/python; } && \
             { $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
               2>/dev/null || echo none; })
ifneq ($(VENV_PY),)
ifeq ($(filter $(VENV_PY),$(SUPPORTED)),)
STALE_VENV := stale-venv
STALE_WHY  := $(if $(filter none,$(VENV_PY)),has a Python that no longer runs,was made by \
                Python $(VENV_PY)$(comma) which CommonShelf does not support)
endif
endif

stale-venv:
	@echo "$(VENV) $(STALE_WHY) (it needs $(SUPPORTED)): rebuilding it with $(PYTHON)"
	rm -rf $(VENV)

$(BIN)/.installed: pyproject.toml setup.py localization_ext/_hologram.pyx $(STALE_VENV)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 11), (3, 12), (3, 13)])' \
	  || { echo "$(PYTHON) is not Python $(SUPPORTED); install one of them and run, e.g.," \
	            "make $(MAKECMDGOALS) PYTHON=python3.12"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/commonshelf demo --port $(PORT) --host $(HOST)

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(BIN)/.installed
	@for script in tests/bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

# The GraphQL schema as SDL, committed for client developers (a test compares it).
schema: $(BIN)/.installed
	$(BIN)/commonshelf schema --graphql > docs/schema.graphql

# Installs and runs the unit suite on every supported Python found here.
pythons:
	bash tests/pythons.sh
