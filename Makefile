# epictl: `make run` installs and runs the main job; `make test` installs and runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-full bench table3-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: KDD'21 experiment 1 (synthetic downtown Beijing), Expert seriousness, 10 seeds.
run: $(STAMP)
	$(BIN)/epictl eval experiment=kdd21_exp1 agent=expert_seriousness seeds=10

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Also the slow tests (full-size cities).
test-full: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)
	$(BIN)/python scripts/bench_metapop.py
	$(BIN)/python scripts/bench_train.py

clean:
	rm -rf $(VENV) outputs multirun
