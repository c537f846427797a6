# Two commands for a newcomer: `make demo` and `make test`. Both create or reuse .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-sync test test-slow test-all bench schema clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/dossier-stream demo

demo-sync: install  # the same story fed as the national portal's sync records (docs/ingest.md)
	$(BIN)/dossier-stream demo --sync

test: install
	$(BIN)/pytest -q

test-slow: install
	$(BIN)/pytest -q -m slow

test-all: install
	$(BIN)/pytest -q -m ''

bench: install
	$(BIN)/python -m bench.run

schema: install
	$(BIN)/python -m stream_app.schemas.export

clean:
	rm -rf $(VENV) var build *.egg-info
