# Two commands: `make run` (set up and run the system on its embedded defaults) and
# `make test` (set up and run the whole suite). Everything else here serves those two.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi
# Two pytest workers (this is a 2-core machine); `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2

.PHONY: run test install system-deps system-deps-test translations db clean

run: system-deps install db
	@echo ""
	@echo "  Emergency plans and drills: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/api/v1/docs)"
	@if [ -f instance/demo-logins.txt ]; then echo "  Demo logins (username, password, role) are in instance/demo-logins.txt:"; head -n 4 instance/demo-logins.txt | sed 's/^/    /'; fi
	@if [ -n "$$DEMO_PASSWORD" ]; then echo "  Demo logins: admin, duty, viewer, ent01..ent40 with DEMO_PASSWORD"; fi
	@echo ""
	PORT=$(PORT) HOST=$(HOST) $(BIN)/honcho start -f Procfile

test: system-deps-test install
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@if ls emergency/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d emergency/translations >/dev/null; fi

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

db: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty

clean:
	rm -rf $(VENV) .pytest_cache
