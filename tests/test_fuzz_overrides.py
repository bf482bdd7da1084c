"""Malformed overrides for every command: each one is a clean rejection (exit 2, one `epictl: error:` line
naming the key, no traceback, no run folder)."""

from __future__ import annotations

import pytest
from fuzz_harness import assert_clean_rejection, run_cli

HUGE = "99999999999999999999"  # beyond int64
HUGER = "9" * 400  # beyond float64: OmegaConf itself refuses it for a float key

CITY, GRID = "env=tiny", "env=grid_tiny"
HRL, DDQN, SCHEDULE = "agent=hrl", "agent=ddqn_lstm", "agent=n_work_m_lockdown"


def cases() -> list[tuple[str, list[str], str]]:
    """(command, overrides, a part of the message naming what is wrong).

    Keys the CLI checks itself (top level, budget, reward, names, groups) must appear whole; simulator and
    agent parameters, checked by their own classes, by their last part (`R0`, `hidden`)."""
    out: list[tuple[str, list[str], str]] = []

    def add(command: str, overrides: list[str], expected: str) -> None:
        out.append((command, overrides, expected))

    # Unknown keys at every level.
    for key in ("foo", "env.foo", "env.disease.foo", "env.sim.foo", "env.scenario.foo", "env.city.foo",
                "env.city.synthetic.foo", "agent.foo", "budget.foo", "reward.foo"):
        add("eval", [CITY, f"{key}=1"], key.rsplit(".", 1)[-1] if "." not in key else key)
    for key in ("env.sim.foo", "env.foo", "agent.foo", "reward.foo"):
        add("eval", [GRID, SCHEDULE, f"{key}=1"], key)
    add("train", [CITY, HRL, "agent.foo=1"], "agent.foo")
    add("rebuild", [CITY, "rebuild.foo=1"], "rebuild.foo")
    add("train", [GRID, DDQN, "agent.foo=1"], "agent.foo")
    add("table", ["runs=[x]", "foo=1"], "foo")
    add("bench", [CITY, "foo=1"], "foo")
    add("calibrate", [CITY, "foo=1"], "foo")
    add("calibrate", [CITY, "parameters.foo.free=true"], "parameters.foo")
    add("calibrate", [CITY, "parameters.R0.foo=1"], "parameters.R0.foo")

    # Wrong types.
    for key, value in (("seed", "abc"), ("seeds", "1.5"), ("progress", "maybe"), ("plots", "maybe"),
                       ("env.disease.R0", "abc"), ("env.scenario.initial_cases", "abc"), ("budget.beds", "abc"),
                       ("budget.beds", "1e30"), ("reward.constant", "abc"), ("env.delta", "abc"),
                       ("env.scenario.regions", "abc"), ("env.record_regions", "maybe")):
        add("eval", [CITY, f"{key}={value}"], key)
    for key, value in (("env.sim.population", "abc"), ("env.sim.density", "abc"), ("agent.work_days", "1.5"),
                       ("env.train_initial_share", "abc")):
        add("eval", [GRID, SCHEDULE, f"{key}={value}"], key)
    add("train", [CITY, HRL, "agent.hidden=abc"], "agent.hidden")
    add("train", [GRID, DDQN, "agent.memory=abc"], "agent.memory")
    add("train", [CITY, "train_seed_offset=abc"], "train_seed_offset")
    add("table", ["runs=[x]", "name=[a,b]"], "name")
    add("bench", [CITY, "days=abc"], "days")
    add("calibrate", [CITY, "runs=abc"], "runs")

    # Top-level numbers: negative, zero where a count needs one, huge.
    for key, value in (("seed", "-1"), ("seed", HUGE), ("seed", "4294967290"), ("seeds", "0"), ("seeds", "-5"),
                       ("seeds", HUGE), ("seed", "inf"), ("seed", "nan")):
        add("eval", [CITY, f"{key}={value}"], key)
    for key, value in (("train_seed_offset", "-1"), ("train_seed_offset", HUGE), ("seed", "-3")):
        add("train", [CITY, f"{key}={value}"], key)
    for key, value in (("days", "0"), ("days", "-1"), ("days", HUGE), ("reference_days", "0"),
                       ("reference_days", HUGE), ("seed", "-1")):
        add("bench", [CITY, f"{key}={value}"], key)
    for key, value in (("runs", "0"), ("runs", HUGE), ("beds", "-1"), ("beds", HUGE), ("seed_regions", "0"),
                       ("search_points", "0"), ("max_evaluations", "-1"), ("window_days", "0"), ("seed", "-1")):
        add("calibrate", [CITY, f"{key}={value}"], key)

    # Budget and reward.
    for key, value in (("beds", "-1"), ("beds", HUGE), ("masks_per_day", "-1"), ("masks_per_day", HUGE)):
        add("eval", [CITY, f"budget.{key}={value}"], f"budget.{key}")
    for value in ("nan", "inf", "-inf", HUGER):
        add("eval", [CITY, f"reward.constant={value}"], "reward.constant")
    for key, value in (("r", "nan"), ("r", "-1"), ("r", "inf"), ("s", "nan"), ("s", "-1"), ("death_term", "weekly")):
        add("eval", [GRID, SCHEDULE, f"reward.{key}={value}"], f"reward.{key}")

    # Metapop env: disease, scenario, simulation, actions.
    for key in ("R0", "Pa", "eps_days", "d", "t_days", "d_h", "th_days", "r_a", "r_E", "theta_ticks", "gamma_mask"):
        for value in ("nan", "inf", "-1"):
            add("eval", [CITY, f"env.disease.{key}={value}"], key)
    for key, value in (("Pa", "2"), ("gamma_mask", "1.5"), ("d", "2")):
        add("eval", [CITY, f"env.disease.{key}={value}"], key)
    add("eval", [CITY, f"env.disease.R0={HUGER}"], "env.disease.R0")
    for key, value in (("initial_cases", "-1"), ("initial_regions", "0"), ("initial_regions", HUGE),
                       ("free_days", "-1"), ("controlled_days", "0"), ("controlled_days", "-1"),
                       ("initial_compartment", "Q"), ("free_days", "99999999999"), ("controlled_days", "99999999999"),
                       ("initial_cases", "99999999999999999")):
        add("eval", [CITY, f"env.scenario.{key}={value}"], key)
    for key, value in (("fast_threshold", "-1"), ("start_weekday", "9"), ("mobility", "warp")):
        add("eval", [CITY, f"env.sim.{key}={value}"], key)
    for value in ("[nan,0.1]", "[2,2]", "[-1,0.1]", "[0.1]"):
        add("eval", [CITY, f"env.delta={value}"], "env.delta")
    for key, value in (("observation", "psychic"), ("reorder", "alphabet"), ("metric_window", "never"),
                       ("name", "../x"), ("name", "a/b")):
        add("eval", [CITY, f"env.{key}={value}"], f"env.{key}")
    for key, value in (("n_regions", "0"), ("n_regions", "-1"), ("gravity_scale_km", "nan")):
        add("eval", [CITY, f"env.city.synthetic.{key}={value}"], key)
    add("eval", [CITY, "env.city.source=npz", "env.city.path=/no/such/city.npz"], "env.city.path")

    # Grid env.
    for key, value in (("population", "0"), ("population", "-1"), ("population", HUGE), ("density", "nan"),
                       ("density", "0"), ("density", "2"), ("density", "inf"), ("moves_per_day", "-1"),
                       ("p_contact", "2"), ("p_contact", "nan"), ("exposed_min", "-1"), ("infectious_min", "-1"),
                       ("death_probability", "2"), ("death_probability", "nan"), ("economy_low", "nan"),
                       ("initial_infectious", "-1"), ("initial_infectious", HUGE), ("warmup_days", "-1"),
                       ("max_days", "0"), ("max_days", "-1"), ("population_multiple", "0"), ("grid_side", "0"),
                       ("order", "alphabet")):
        add("eval", [GRID, SCHEDULE, f"env.sim.{key}={value}"], key)
    for value in ("[0.5,0.1]", "[nan,0.1]", "[-1,0.1]"):
        add("eval", [GRID, SCHEDULE, f"env.train_initial_share={value}"], "train_initial_share")

    # Agents.
    for key, value in (("hidden", "0"), ("hidden", "-1"), ("lr_q", "0"), ("lr_q", "nan"), ("lr_q", "-1"),
                       ("lr_actor", "inf"), ("lr_critic", "0"), ("discount", "nan"), ("discount", "2"),
                       ("batch_size", "0"), ("replay_capacity", "0"), ("epsilon", "2"), ("tau", "nan"),
                       ("updates", "0"), ("updates", "-1"), ("checkpoint_every", "0")):
        add("train", [CITY, HRL, f"agent.{key}={value}"], key)
    add("train", [CITY, HRL, "agent.name=a/b"], "agent.name")
    add("train", [CITY, HRL, "env.allocation=fair"], "env.allocation")
    for key, value in (("memory", "0"), ("dropout", "1.5"), ("dropout", "nan"), ("lr", "0"), ("lr", "nan"),
                       ("batch_size", "0"), ("replay_capacity", "0"), ("epsilon_decay", "0"),
                       ("target_sync_every", "0"), ("updates", "0"), ("checkpoint_every", "0"), ("discount", "2")):
        add("train", [GRID, DDQN, f"agent.{key}={value}"], key)
    for key, value in (("hidden", "0"), ("layers", "0"), ("scale", "0"), ("lr", "nan"), ("epochs", "0"),
                       ("batch_size", "0"), ("train_episodes", "0"), ("accuracy_tolerance", "nan"),
                       ("checkpoint_every", "0")):
        add("rebuild", [CITY, f"rebuild.{key}={value}"], key)
    for key, value in (("work_days", "-1"), ("lockdown_days", "-1"), ("work_level", "5"), ("lockdown_level", "-1"),
                       ("initial_lockdown_days", "-1")):
        add("eval", [GRID, SCHEDULE, f"agent.{key}={value}"], key)
    for key, value in (("principles", "[9,0]"), ("factors", "[2,1]"), ("factors", "[nan,1]"), ("kind", "psychic")):
        add("eval", [CITY, f"agent.{key}={value}"], key)

    # Agents that do not fit the env, commands that do not fit the agent.
    add("eval", [GRID, HRL], "agent 'hrl'")
    add("eval", [CITY, "agent=no_lockdown"], "agent 'no_lockdown'")
    add("eval", ["env=grid"], "agent 'expert_seriousness'")
    add("train", [CITY, "agent=no_medical"], "agent 'no_medical'")
    add("eval", [CITY, HRL], "checkpoint")
    add("eval", [CITY, HRL, "checkpoint=/no/such/run"], "checkpoint=/no/such/run")
    add("train", [CITY, HRL, "resume=/no/such/run"], "resume=/no/such/run")
    add("calibrate", ["env=grid"], "calibrate needs a metapopulation city")
    add("bench", [GRID], "env 'grid_tiny'")

    # Bad group choices (the options listed are the yaml files, not the schemas).
    for group, choice in (("env", "atlantis"), ("agent", "superhero"), ("budget", "gold"), ("reward", "money"),
                          ("experiment", "kdd99")):
        add("eval", [f"{group}={choice}"], f"'{group}/{choice}'")
    add("calibrate", ["env=atlantis"], "'env/atlantis'")

    # Sweep syntax, interpolations, missing values.
    for value in ("seed=0,1,", "seed=range(0,", "env=tiny,,grid", "seed=[1,2", "seed=choice(", "=3"):
        add("eval", ["-m", value], f"override '{value}'")
    for key, value in (("seed", "${foo}"), ("env.disease.R0", "${env.nope}"), ("agent.name", "${oc.env:EPICTL_NO_SUCH_VAR}"),
                       ("seeds", "${seed")):
        add("eval", [CITY, f"{key}={value}"], key)
    for key in ("seed", "env.disease.R0", "budget.beds", "env.scenario.free_days"):
        add("eval", [CITY, f"{key}="], key)
    for key in ("seeds", "seed", "budget.beds"):
        add("eval", [CITY, f"{key}=null"], key)
    add("eval", [CITY, "seed=???"], "seed")

    # bench and table settings.
    add("bench", [CITY, "modes=[warp]"], "modes")
    add("bench", [CITY, "modes=[]"], "modes")
    for value in ("../../x", "a/b", "..", "''"):
        add("table", ["runs=[x]", f"name={value}"], "name=")
    add("table", ["runs=[]"], "runs")
    add("table", ["runs=[/no/such/folder]"], "/no/such/folder")
    add("table", ["runs=[x]", "compare=table9"], "compare='table9'")
    return out


CASES = cases()


def test_enough_cases():
    assert len(CASES) >= 140


# Every other case runs in `make test` (each kind of mistake has neighbours there); all of them in `make test-smoke`.
@pytest.mark.parametrize("command, overrides, expected", [
    pytest.param(*case, id=" ".join([case[0], *case[1]]), marks=[pytest.mark.smoke] if k % 2 else [])
    for k, case in enumerate(CASES)])
def test_bad_override_is_a_clean_rejection(tmp_path, command, overrides, expected):
    multirun = "-m" in overrides
    run_dir = tmp_path / "run"
    extra = [f"hydra.sweep.dir={run_dir}" if multirun else f"hydra.run.dir={run_dir}"]
    if command in ("eval", "train", "calibrate"):
        extra.append("progress=false")
    if command != "table" and not any(o.startswith(("env=grid", "experiment=")) for o in overrides):
        extra.append(f"env.city.cache_dir={tmp_path / 'cache'}")
    assert_clean_rejection(run_cli(command, *overrides, *extra), expected, run_dir)


GOOD_METRICS = "agent,env,experiment,seed,infected_pct,deaths_permille,max_daily_infection_permille,max_daily_death_per10k\n" \
               "a,tiny,-,0,1.0,2.0,3.0,4.0\n"
BAD_METRICS = {
    "binary": (b"\x00\xff\xfe garbage \x00\n\x01", "unreadable metrics table"),
    "empty": (b"", "empty metrics table"),
    "header_only": (GOOD_METRICS.splitlines()[0].encode() + b"\n", "no episodes"),
    "no_id_columns": (b"x,y\n1,2\n", "not an epictl metrics table (no agent, env, experiment, seed column)"),
    "ragged": (GOOD_METRICS.encode() + b"a,tiny,-,1,1.0,2.0\n1,2,3,4,5,6,7,8,9,10,11\n", "unreadable metrics table"),
    "text_in_a_metric": (GOOD_METRICS.replace("1.0", "lots").encode(), "column infected_pct holds text"),
    "no_known_metrics": (b"agent,env,experiment,seed,z\na,tiny,-,0,1\n", "none of the known metric sets"),
}


@pytest.mark.parametrize("kind", BAD_METRICS)
def test_table_rejects_a_bad_metrics_file_in_one_line(tmp_path, kind):
    content, expected = BAD_METRICS[kind]
    runs = tmp_path / "runs"
    (runs / "good").mkdir(parents=True)
    (runs / "good" / "metrics.csv").write_text(GOOD_METRICS)
    (runs / "bad").mkdir()
    (runs / "bad" / "metrics.csv").write_bytes(content)
    result = run_cli("table", f"runs=[{runs}]", f"output_dir={tmp_path / 'tables'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, expected, tmp_path / "run")
    assert str(runs / "bad" / "metrics.csv") in result.stderr
    assert not (tmp_path / "tables").exists()


def test_table_output_dir_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "metrics.csv").write_text(GOOD_METRICS)
    (tmp_path / "tables").write_text("a file")
    result = run_cli("table", f"runs=[{tmp_path / 'good'}]", f"output_dir={tmp_path / 'tables'}",
                     f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "output_dir=", tmp_path / "run")
