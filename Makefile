# Two commands for a newcomer: `make demo` and `make test`. Both create or reuse .venv.
# `make demo` installs what the product runs on; `make test` adds the test tools. Both pin
# every package to the versions the tests have seen (constraints.txt; `make lock` renews it).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
TESTS := $(VENV)/.tests

.PHONY: install install-test lock demo demo-sync test test-slow test-all bench schema clean report-sample

install: $(RUNTIME)

$(RUNTIME): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $(RUNTIME)

install-test: $(TESTS)

$(TESTS): $(RUNTIME)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(TESTS)

# The newest versions pyproject.toml allows, resolved in a fresh environment and written
# down: run it, then `make test`, and commit constraints.txt when the tests pass.
lock:
	rm -rf build/lock && $(PY) -m venv build/lock
	build/lock/bin/pip install --quiet --upgrade pip
	build/lock/bin/pip install --quiet '.[test]'
	( echo "# The versions the tests have seen; make install uses them. Renew with make lock."; \
	  build/lock/bin/pip freeze --exclude-editable | grep -v '^dossier-stream' ) > constraints.txt
	rm -rf build/lock

demo: install
	$(BIN)/dossier-stream demo

demo-sync: install  # the same story fed as the national portal's sync records (docs/ingest.md)
	$(BIN)/dossier-stream demo --sync

test: install-test
	$(BIN)/pytest -q

test-slow: install-test
	$(BIN)/pytest -q -m slow

test-all: install-test
	$(BIN)/pytest -q -m ''

bench: install-test
	$(BIN)/python -m bench.run

schema: install
	$(BIN)/python -m stream_app.schemas.export

# docs/report-sample.png: page 1 of the demo province's November letter (report --format docx),
# as LibreOffice renders it. Needs soffice and pdftoppm (Debian: libreoffice-writer, poppler-utils).
SAMPLE := var/report-sample
SAMPLE_STORE := DOSSIER_CLICKHOUSE=chdb://$(CURDIR)/$(SAMPLE)/clickhouse
report-sample: install
	rm -rf $(SAMPLE) && mkdir -p $(SAMPLE)
	$(BIN)/dossier-stream generate --out $(SAMPLE)/province.jsonl --months 2 --seed 1 --dossiers-per-month 3000 --start 2023-10-01
	cd $(SAMPLE) && $(SAMPLE_STORE) $(CURDIR)/$(BIN)/dossier-stream run --events province.jsonl --no-progress > run.txt
	$(SAMPLE_STORE) $(BIN)/dossier-stream report --month 2023-11 --format docx --out $(SAMPLE)/bao-cao-2023-11.docx --charts $(SAMPLE)/charts
	soffice -env:UserInstallation=file://$(CURDIR)/$(SAMPLE)/lo-profile --headless --norestore --convert-to pdf --outdir $(SAMPLE) $(SAMPLE)/bao-cao-2023-11.docx
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile $(SAMPLE)/bao-cao-2023-11.pdf docs/report-sample

clean:
	rm -rf $(VENV) var build *.egg-info
