VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-browser lint format bench bench-pg seed-large loadtest clean

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

# The large PostgreSQL database the production-shape figures are measured on (loadtests/seed_large.py:
# 1,000,000 activations, 2,000,000 ledger rows, 5,000,000 events; about 5 minutes). It is reset
# first, so its name must contain bench, loadtest or fuzz.
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/smsbulk_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/9
seed-large: $(STAMP)
	DATABASE_URL=$(BENCH_PG_URL) timeout 1800 $(BIN)/python -m loadtests.seed_large $(SEED_ARGS)

# make bench on PostgreSQL + the Redis server, on the large database as it is (not reset: run
# make seed-large once first), against the PostgreSQL targets; (f) polls its 100,000 open activations.
# The Redis database of BENCH_REDIS_URL is flushed (database 0 is refused).
bench-pg: $(STAMP)
	DATABASE_URL=$(BENCH_PG_URL) REDIS_URL=$(BENCH_REDIS_URL) timeout 2400 \
		$(BIN)/python -m loadtests.bench --keep-database --targets postgres $(BENCH_ARGS)

# 500 bots for 2 minutes against a throwaway local stack; Locust's CSV stats and HTML report
# land in loadtests/results/. LOADTEST_ARGS e.g. "--users 200 --seconds 60".
loadtest: $(STAMP)
	timeout 600 $(BIN)/python -m loadtests.loadtest $(LOADTEST_ARGS)
