VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-browser lint format bench loadtest clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The whole service on embedded defaults: SQLite, embedded Redis, the simulator, a demo key.
run: $(STAMP)
	$(BIN)/python -m smsbulk.launcher

# The suite on SQLite + embedded Redis (CI also runs it on PostgreSQL + a Redis server).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

# Tests in a real browser (Debian's Chromium: apt-get install chromium); CI runs them too.
test-browser: $(STAMP)
	$(BIN)/pytest -q -m browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) smsbulk.db* .pytest_cache

# The hot paths against their ceilings, on this machine (about 5 minutes): a throwaway local
# stack on loopback, stopped at the end. BENCH_ARGS e.g. "--rounds 1 --seconds 10".
bench: $(STAMP)
	timeout 1500 $(BIN)/python -m loadtests.bench $(BENCH_ARGS)

# 500 bots for 2 minutes against a throwaway local stack; Locust's CSV stats and HTML report
# land in loadtests/results/. LOADTEST_ARGS e.g. "--users 200 --seconds 60".
loadtest: $(STAMP)
	timeout 600 $(BIN)/python -m loadtests.loadtest $(LOADTEST_ARGS)
