VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8642

.PHONY: install run test test-sqlite test-postgres bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/charter server --port $(PORT) --demo

# Every database test twice: once on the embedded SQLite store, once on a
# real PostgreSQL server the test session starts itself (skipped with a reason
# where PostgreSQL's binaries are not installed). Tests that open a database
# live under tests/integration; tests/unit is pure (its conftest refuses a
# database), so the PostgreSQL pass runs tests/integration only.
test: install test-sqlite test-postgres

test-sqlite: install
	CHARTER_TEST_DB=sqlite $(PY) -m pytest -q

test-postgres: install
	CHARTER_TEST_DB=postgresql $(PY) -m pytest -q tests/integration

# The quick form of every benchmark and one table of ratios against the peers;
# the full runs are in benchmarks/README.md.
bench: install
	$(PY) benchmarks/quick.py

clean:
	rm -rf $(VENV) .charter build *.egg-info src/*.egg-info
