# epictl: `make run` installs and runs the main job; `make test` installs and runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-smoke test-full bench table3 table3-smoke table4 table4-smoke kdd21-fit figure7 figure8 figure8-smoke figure6 figure6-smoke figure5 figure5-smoke grid-density grid-density-smoke grid-agents grid-agents-smoke clusters-table2 clusters-table2-smoke clusters-table1 clusters-table1-smoke clusters-latency clusters-latency-smoke clusters-figa1 clusters-figa1-smoke papw-table papw-table-smoke abm-table abm-table-smoke golden clean

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

# The fast suite (about 5 minutes on 2 cores); the pipelines of every table and figure are in test-smoke.
test: $(STAMP)
	$(BIN)/python -m pytest -q

# Every table and figure pipeline at tiny sizes (the -smoke twins of the make targets below), Ctrl-C / kill -9
# then resume of every learner's training process, and the slower statistical and learning checks.
test-smoke: $(STAMP)
	$(BIN)/python -m pytest -q -m smoke

# Everything, the slow tests on full-size cities included.
test-full: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)
	$(BIN)/python scripts/bench_metapop.py
	$(BIN)/python scripts/bench_train.py
	$(BIN)/python scripts/bench_grid.py
	$(BIN)/python scripts/bench_clusters.py
	$(BIN)/python scripts/bench_contacts.py
	$(BIN)/python scripts/bench_abm.py

# KDD'21 Table 3 (3 experiments x 6 methods, 10 seeds, each learner trained 3 times) beside the paper's, in two
# regimes: the cities fitted to the paper's no-medical rows (conf/env/*_table3.yaml, make kdd21-fit):
# outputs/tables/table3-fitted.{md,csv}; and the census-built synthetic cities: outputs/tables/table3.{md,csv}.
table3: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 3 --regime fitted
	$(BIN)/python scripts/kdd21_table.py --table 3

# The same pipeline on the 12-region test city in a few minutes: outputs/tables/table3-smoke.{md,csv}.
table3-smoke: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 3 --smoke

# KDD'21 Table 4 (imperfect information, 3 experiments x 5 methods), both regimes: outputs/tables/table4-fitted.{md,csv},
# outputs/tables/table4.{md,csv}.
table4: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 4 --regime fitted
	$(BIN)/python scripts/kdd21_table.py --table 4

table4-smoke: $(STAMP)
	$(BIN)/python scripts/kdd21_table.py --table 4 --smoke

# KDD'21 Tables 3-4's scarcity regime: fit only what the paper leaves unstated (a factor on every move share, the
# gravity range, the seeds' compartment, a shared day-60 snapshot) to its no-medical rows, Beijing (Exp 1-2) and
# Shanghai (Exp 3), whose seeds' compartment and shared snapshot are Beijing's (the paper's procedure, not a city);
# copy each fitted_env.yaml to conf/env/<city>_table3.yaml. 70 + 10 minutes on 2 cores (measured, shared with other jobs).
FIT_BUDGET := table_rows.search_points=10 table_rows.max_evaluations=20
kdd21-fit: $(STAMP)
	$(BIN)/epictl calibrate env=beijing target=kdd21_beijing_no_medical $(FIT_BUDGET) hydra.run.dir=outputs/calibration/beijing_table3
	$(BIN)/epictl calibrate env=shanghai target=kdd21_shanghai_no_medical $(FIT_BUDGET) 'table_rows.initial_compartments=[E]' \
		'table_rows.free_phase_seeds=[0]' hydra.run.dir=outputs/calibration/shanghai_table3

# KDD'21 Figure 7 (damage relative to DQN expert = 1.0, ours and the paper's) from make table3's long table:
# outputs/figures/figure7.{png,csv}.
figure7: $(STAMP)
	$(BIN)/python scripts/kdd21_figures.py figure7

# KDD'21 Figure 8 (beds and masks per region on controlled days 10 and 30, experiment 1) from one evaluation
# of make table3's trained HRL: outputs/figures/figure8.{png,csv}.
figure8: $(STAMP)
	$(BIN)/python scripts/kdd21_figures.py figure8

figure8-smoke: $(STAMP)
	$(BIN)/python scripts/kdd21_figures.py figure8 --smoke

# KDD'21 Figure 6 (rebuild accuracy and training time vs GRU layers 1-6; one `epictl rebuild` per city and
# layer count, in outputs/figure6/): outputs/figures/figure6.{png,csv,md}.
figure6: $(STAMP)
	$(BIN)/python scripts/figure6.py

figure6-smoke: $(STAMP)
	$(BIN)/python scripts/figure6.py --smoke

# KDD'21 Figure 5 (the simulator vs the Xinfadi outbreak): the calibration in outputs/figures/figure5/
# (fit.yaml, summary.md, plots/figure5.png); a few minutes on one core.
figure5: $(STAMP)
	$(BIN)/epictl calibrate env=beijing target=xinfadi hydra.run.dir=outputs/figures/figure5

# The test city fitted to a series made from known parameters, checked against them: outputs/figures/figure5-smoke/.
figure5-smoke: $(STAMP)
	$(BIN)/python scripts/figure5_smoke.py

# Ohi et al. 2020 Table 1 + Fig. 8: no lockdown at densities 0.01-0.2 (10 seeds), our world and the released
# code's, against the SEIR-D ODE: outputs/tables/grid_density.{md,csv}, outputs/tables/plots/grid_ode.png.
grid-density: $(STAMP)
	$(BIN)/python scripts/grid_tables.py density

grid-density-smoke: $(STAMP)
	$(BIN)/python scripts/grid_tables.py density --smoke

# Ohi et al. 2020 Table 2 + Fig. 22: M30 (3 training runs of 20,000 steps on 8 env copies, the best held-out
# evaluation of each; about an hour on 2 cores) and the five lockdown schedules, 10 seeds:
# outputs/tables/grid_agents.{md,csv}. M7-M60 too: add --memory-variants.
grid-agents: $(STAMP)
	$(BIN)/python scripts/grid_tables.py agents

grid-agents-smoke: $(STAMP)
	$(BIN)/python scripts/grid_tables.py agents --smoke

# Peng & Perrault (Hier-PPO) Table 2: (#C, #B) = (20, 40), (20, 400), (40, 80), async and sync, six methods, 5
# training seeds x 100 episodes, the paper's numbers beside ours: outputs/tables/clusters_table2.{md,csv}. Each seed
# trains the belief encoder, the generalized DQN and one PPO controller per cell (scripts/clusters_tables.py says how
# long); the paper's 5e6 DQN steps: `python scripts/clusters_tables.py table2 --paper-budget`.
clusters-table2: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py table2

clusters-table2-smoke: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py table2 --smoke

# Hier-PPO Table 1: the alpha3-conditioned DQN against DQNs trained at alpha3 = 0.01, 0.03, 0.1, 0.3:
# outputs/tables/clusters_table1.{md,csv}.
clusters-table1: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py table1

clusters-table1-smoke: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py table1 --smoke

# Hier-PPO Table A.3: decision latency per global day, Bin-M-QR against Hier-PPO at (10, 20) and (40, 80), side by
# side in one run: outputs/tables/clusters_latency.{md,csv}.
clusters-latency: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py latency

clusters-latency-smoke: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py latency --smoke

# Hier-PPO Fig. A.1: testing rate against alpha3 with and without the gradient penalty:
# outputs/tables/clusters_figa1.{md,csv} and outputs/tables/plots/clusters_figa1.png.
clusters-figa1: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py figa1

clusters-figa1-smoke: $(STAMP)
	$(BIN)/python scripts/clusters_tables.py figa1 --smoke

# IDRLECA (Feng et al. 2021) in the PAPW 2020 city: every policy in every scenario (conf/env/papw*.yaml), 10
# evaluation seeds, the paper's stated claims checked: outputs/tables/papw_table.{md,csv}, with the probability-
# threshold sweep in papw_threshold_sweep.{md,csv}; the paper's 200,000 training steps: `--paper-budget`.
papw-table: $(STAMP)
	$(BIN)/python scripts/papw_tables.py

papw-table-smoke: $(STAMP)
	$(BIN)/python scripts/papw_tables.py --smoke

# Deshkar et al. 2023: DDPG's lockdown and vaccination schedule for 4 experiments x 3 kappa scenarios against the
# paper's finding, and the outcomes of DDPG and baselines 1-4 over 10 seeds: outputs/tables/abm_table.{md,csv} and
# outputs/tables/plots/abm_curves.{png,csv}.
abm-table: $(STAMP)
	$(BIN)/python scripts/abm_tables.py

abm-table-smoke: $(STAMP)
	$(BIN)/python scripts/abm_tables.py --smoke

# Rewrite tests/golden/golden.csv (the metrics tests/test_golden.py checks) after an intended change of results.
golden: $(STAMP)
	$(BIN)/python scripts/golden.py --refresh

clean:
	rm -rf $(VENV) outputs multirun
