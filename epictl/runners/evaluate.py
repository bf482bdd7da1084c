"""`epictl eval`: an agent over `seeds` episodes; metrics, curves, summary and plots in the run folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from epictl.agents.rollout import play_episode
from epictl.report.run_folder import RunFolder
from epictl.runners.build import build_env_and_agent
from epictl.runners.episode import episode_result
from epictl.runners.interrupt import StopBetweenSteps
from epictl.runners.progress import progress_bar

EPISODE_NOTICE = "stopping after this episode to write the summary (Ctrl-C again: stop now)"


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    env, agent = build_env_and_agent(cfg)
    experiment = choices.get("experiment") or "-"
    title = f"{cfg.agent.name} on {cfg.env.name} ({experiment})"
    folder = RunFolder(out_dir, title)
    report = None
    # Ctrl-C: the episode under way finishes and is recorded, then the summary and plots of every finished
    # episode are written (an interrupt inside a kernel or a file write would leave the folder inconsistent).
    with progress_bar(cfg.progress) as bar, StopBetweenSteps(EPISODE_NOTICE) as stop:
        task = bar.add_task(title, total=cfg.seeds)
        for seed in range(cfg.seed, cfg.seed + cfg.seeds):
            episode_return = play_episode(env, agent, seed)
            report = env.episode_report()
            result = episode_result(report, seed, episode_return)
            row = {"agent": cfg.agent.name, "env": cfg.env.name, "experiment": experiment, **result.row}
            folder.add_episode(row, result.curves, result.region_curves)
            bar.advance(task)
            if stop.requested:
                break
    folder.finish(report.plots, report.first_controlled_day, draw=cfg.plots)
    if stop.requested:
        raise KeyboardInterrupt
    print(f"wrote {out_dir}")
