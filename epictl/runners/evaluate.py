"""`epictl eval`: an agent over `seeds` episodes; metrics, curves, summary and plots in the run folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from epictl.report.run_folder import RunFolder
from epictl.runners.build import build_env_and_agent
from epictl.runners.episode import ALLOCATION_COLUMNS, episode_result, play_episode
from epictl.runners.progress import progress_bar
from epictl.sim.metapop.compartments import NAMES


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    env, agent = build_env_and_agent(cfg)
    env_config = OmegaConf.to_object(cfg.env)
    experiment = choices.get("experiment") or "-"
    title = f"{cfg.agent.name} on {env_config.name} ({experiment})"
    folder = RunFolder(out_dir, title, list(NAMES), ALLOCATION_COLUMNS)
    scenario = env_config.scenario
    with progress_bar(cfg.progress) as bar:
        task = bar.add_task(title, total=cfg.seeds * scenario.controlled_days)
        for seed in range(cfg.seed, cfg.seed + cfg.seeds):
            episode_return = play_episode(env, agent, seed, on_day=lambda: bar.advance(task))
            result = episode_result(env, seed, episode_return, env_config.metric_window_start)
            row = {"agent": cfg.agent.name, "env": env_config.name, "experiment": experiment, **result.row}
            folder.add_episode(row, result.curves, result.region_curves)
    folder.finish(scenario.free_days, plots=cfg.plots)
    print(f"wrote {out_dir}")
