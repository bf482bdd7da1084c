# epictl: `make run` installs and runs the main job; `make test` installs and runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-full bench table3 table3-smoke table4 table4-smoke figure6 figure6-smoke clean

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
	$(BIN)/python scripts/kdd21_table.py --table 3

# The same pipeline on the 12-region test city in a few minutes: outputs/tables/table3-smoke.{md,csv}.
table3-smoke: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 3 --smoke

# KDD'21 Table 4 (imperfect information, 3 experiments x 5 methods): outputs/tables/table4.{md,csv}.
table4: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 4

table4-smoke: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 4 --smoke

# KDD'21 Figure 6 (rebuild accuracy and training time vs GRU layers 1-6): outputs/figures/figure6.{png,csv,md}.
figure6: $(STAMP)
	$(BIN)/python scripts/figure6.py

figure6-smoke: $(STAMP)
	$(BIN)/python scripts/figure6.py --smoke

clean:
	rm -rf $(VENV) outputs multirun
