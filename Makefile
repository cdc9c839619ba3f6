# The commands README names. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run serve test bench lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall when pyproject.toml or the lock changes.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
	touch $@ $(VENV)/.installed-run

## run: install, migrate, seed, then serve http://127.0.0.1:5000 (SQLite and mail files in instance/)
run: $(VENV)/.installed-run
	DEVELOPMENT=true $(BIN)/flask db upgrade
	DEVELOPMENT=true $(BIN)/flask seed
	DEVELOPMENT=true $(BIN)/flask run --host 127.0.0.1 --port 5000

## serve: run as production does, on 127.0.0.1:8000: migrate, `flask check-deploy` (it stops here on an unsafe
## setting), then gunicorn with deploy/gunicorn.conf.py and the email worker beside it; needs production settings
SERVE_APP ?= app:app  # the tests give their own app and instance folder
SERVE_INSTANCE ?=
serve: $(VENV)/.installed-run
	$(BIN)/flask --app '$(SERVE_APP)' db upgrade
	$(BIN)/flask --app '$(SERVE_APP)' check-deploy $(if $(SERVE_INSTANCE),--instance '$(SERVE_INSTANCE)')
	$(BIN)/flask --app '$(SERVE_APP)' outbox run & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py '$(SERVE_APP)'

## test: the import contracts first, then the whole suite, browser tests included
test: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the site under gunicorn (and nginx) driven by wrk, as ratios of a bare Flask "hello" in the same run;
## the table is printed and written to test-artifacts/bench/ (needs wrk: apt-get install wrk)
bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench

## lint: which way the areas depend on each other (import-linter), then ruff over the code and tests
lint: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check coaching tests app.py

## lock: record the versions installed now in constraints.txt
lock: $(VENV)/.installed-test
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
