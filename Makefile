# epictl: `make run` installs and runs the main job; `make test` installs and runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-full bench table3 table3-smoke clean

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

# KDD'21 Table 3 (3 experiments x 6 methods, 10 seeds) beside the paper's: outputs/tables/table3.{md,csv}.
table3: $(STAMP)
	$(BIN)/python scripts/table3.py

# The same pipeline on the 12-region test city in a few minutes: outputs/tables/table3-smoke.{md,csv}.
table3-smoke: $(STAMP)
	$(BIN)/python scripts/table3.py --smoke

clean:
	rm -rf $(VENV) outputs multirun
