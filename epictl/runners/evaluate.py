"""`epictl eval`: an agent over `seeds` episodes; metrics, curves, summary and plots in the run folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from epictl.agents.rollout import play_episodes
from epictl.report.run_folder import RunFolder
from epictl.runners.build import build_envs_and_agent
from epictl.runners.episode import episode_result
from epictl.runners.interrupt import StopBetweenSteps
from epictl.runners.progress import progress_bar

EPISODE_NOTICE = "stopping after this episode to write the summary (Ctrl-C again: stop now)"


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    envs, agent, train_seed = build_envs_and_agent(cfg)
    # A trained agent's rows name its training run: tables pool training runs x evaluation seeds.
    trained = {} if train_seed is None else {"train_seed": train_seed}
    experiment = choices.get("experiment") or "-"
    title = f"{cfg.agent.name} on {cfg.env.name} ({experiment})"
    folder = RunFolder(out_dir, title)
    report = None
    # Ctrl-C: the episode under way finishes and is recorded, then the summary and plots of every finished
    # episode are written (an interrupt inside a kernel or a file write would leave the folder inconsistent).
    with progress_bar(cfg.progress) as bar, StopBetweenSteps(EPISODE_NOTICE) as stop:
        task = bar.add_task(title, total=cfg.seeds)
        for env_copy, seed, episode_return in play_episodes(envs, agent, range(cfg.seed, cfg.seed + cfg.seeds)):
            report = envs.envs[env_copy].episode_report()
            result = episode_result(report, seed, episode_return)
            row = {"agent": cfg.agent.name, "env": cfg.env.name, "experiment": experiment, **trained, **result.row}
            folder.add_episode(row, result.curves, result.region_curves)
            bar.advance(task)
            if stop.requested:
                break
    folder.finish(report.plots, report.first_controlled_day, draw=cfg.plots)
    if stop.requested:
        raise KeyboardInterrupt
    print(f"wrote {out_dir}")
