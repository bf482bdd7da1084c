"""`epictl rebuild`: the information-rebuilding network (KDD'21 §3.2) trained by BPTT on whole daily
trajectories and scored on unseen ones; `epictl rebuild checkpoint=<run> seeds=N` scores a trained one on
N fresh test trajectories.

The run folder keeps `dataset.npz` (the trajectories, reusable with rebuild.dataset=...),
`rebuild.pt` (the best epoch on the validation split), `rebuild_log.csv` (per epoch; the same in
every run of the same settings), `rebuild_metrics.csv` (test split: accuracy, errors, training time),
`summary.md`, `plots/rebuild.png` and `checkpoints/last.pt`, written every `checkpoint_every` epochs
and, on Ctrl-C, after the gradient step under way: `resume=<run dir>` continues exactly (rebuild.epochs
may grow).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.agents.torch_files import checkpoint_path, load_checkpoint, save_checkpoint
from epictl.errors import EpictlError, reason
from epictl.rebuild.config import ARTIFACT
from epictl.rebuild.network import REBUILT, RebuildNet, load_artifact, save_artifact
from epictl.rebuild.trajectories import Trajectories, generate, split_seeds
from epictl.report.files import write_csv, write_text
from epictl.report.rebuild import plot_rebuild, rebuild_accuracy
from epictl.runners.checkpoint import check_resumable
from epictl.runners.interrupt import CHECKPOINT_NOTICE, StopBetweenSteps
from epictl.runners.progress import progress_bar

EVAL_BATCH = 8


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    if cfg.checkpoint:
        score(cfg, out_dir)
    else:
        train(cfg, out_dir)


def fresh_progress() -> dict:
    # `batches`: this epoch's shuffled trajectory indices, one list per gradient step; `losses`: the
    # steps done. Ctrl-C saves between two gradient steps, so a resumed epoch picks up mid-way.
    return {"epoch": 0, "best_loss": float("inf"), "seconds": 0.0, "log": [], "batches": [], "losses": []}


def train(cfg: DictConfig, out_dir: Path) -> None:
    config = OmegaConf.to_object(cfg.rebuild).validate()
    run_dir = Path(cfg.resume).expanduser() if cfg.resume else out_dir
    device = resolve_device(config.device)
    use_torch_threads(config.torch_threads)
    # A resumed checkpoint is checked before anything is simulated or written.
    state = resumable_state(run_dir, cfg) if cfg.resume else None
    torch.manual_seed(cfg.seed)
    data = datasets(cfg, config, run_dir)
    n_regions = data["train"].observed.shape[2]
    net = RebuildNet(n_regions, config).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    rng = np.random.default_rng(cfg.seed)
    progress = fresh_progress()
    if state is not None:
        progress = restore(state, run_dir, net, optimizer, rng)
    train_x, train_y = (torch.as_tensor(a, device=device) for a in (data["train"].observed, data["train"].hidden))
    with progress_bar(cfg.progress) as bar, StopBetweenSteps(CHECKPOINT_NOTICE) as stop:
        task = bar.add_task(f"training rebuild ({config.layers} GRU layers) on {cfg.env.name}",
                            total=config.epochs, completed=progress["epoch"])
        while progress["epoch"] < config.epochs:
            if not progress["batches"]:
                order = rng.permutation(len(train_x))
                progress["batches"] = [b.tolist() for b in np.array_split(order, max(1, len(train_x) // config.batch_size))]
            began = time.perf_counter()
            net.train()
            index = torch.as_tensor(progress["batches"][len(progress["losses"])], device=device)
            estimate, _ = net(train_x[index])
            loss = torch.nn.functional.mse_loss(estimate, train_y[index] / config.scale)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            progress["losses"].append(loss.item())
            # Training time stays out of the log (it must be the same in every run) and is reported in
            # rebuild_metrics.csv and summary.md.
            progress["seconds"] += time.perf_counter() - began
            if len(progress["losses"]) == len(progress["batches"]):
                finish_epoch(run_dir, cfg, config, net, data["validation"], device, progress)
                bar.advance(task)
                if progress["epoch"] % config.checkpoint_every == 0 or progress["epoch"] == config.epochs:
                    save(run_dir, cfg, net, optimizer, rng, progress)
            if stop.requested and progress["epoch"] < config.epochs:
                save(run_dir, cfg, net, optimizer, rng, progress)
                raise KeyboardInterrupt
    best, _ = load_artifact(run_dir, n_regions, device)
    report(run_dir, cfg, best, data["test"], device, progress)


def finish_epoch(run_dir: Path, cfg: DictConfig, config, net: RebuildNet, validation: Trajectories, device,
                 progress: dict) -> None:
    """Score the epoch on the validation split, keep the best network, log the epoch."""
    progress["epoch"] += 1
    validation_loss, estimate = predict(net, validation, device)
    accuracy = rebuild_accuracy(estimate, validation.hidden, REBUILT, config.accuracy_tolerance)
    if validation_loss < progress["best_loss"]:
        progress["best_loss"] = validation_loss
        save_artifact(run_dir / ARTIFACT, net, config, {"epoch": progress["epoch"], "env": cfg.env.name})
    progress["log"].append({"epoch": progress["epoch"], "train_loss": float(np.mean(progress["losses"])),
                            "validation_loss": validation_loss,
                            "validation_accuracy": float(accuracy["accuracy"].iloc[-1])})
    progress["batches"], progress["losses"] = [], []


def score(cfg: DictConfig, out_dir: Path) -> None:
    """Score a trained rebuild model on fresh trajectories: `seeds` episodes from `seed`, test policies."""
    config = OmegaConf.to_object(cfg.rebuild).validate()
    device = resolve_device(config.device)
    use_torch_threads(config.torch_threads)
    net, _ = load_artifact(cfg.checkpoint, city_regions(cfg), device)  # refused before anything is simulated
    test = make_split(cfg, config, "test", cfg.seeds, first_seed=cfg.seed)
    report(out_dir, cfg, net, test, device, None)


def city_regions(cfg: DictConfig) -> int:
    from epictl.sim.metapop.sources import load_city

    return load_city(OmegaConf.to_object(cfg.env).city).n_regions


def datasets(cfg: DictConfig, config, run_dir: Path) -> dict[str, Trajectories]:
    """Load (a reused or resumed dataset) or generate the three splits, saved before training starts."""
    path = Path(config.dataset).expanduser() if config.dataset else run_dir / "dataset.npz"
    counts = {"train": config.train_episodes, "validation": config.validation_episodes, "test": config.test_episodes}
    if path.is_file():
        n_regions = city_regions(cfg)
        with np.load(path, allow_pickle=False) as stored:
            splits = sorted({key.split("/")[0] for key in stored.files})
        if splits != sorted(counts):
            raise EpictlError(f"{path}: not a rebuild dataset (splits {splits})")
        return {split: Trajectories.load_split(path, split, n_regions) for split in counts}
    data = {split: make_split(cfg, config, split, count, cfg.train_seed_offset + cfg.seed) for split, count in counts.items()}
    Trajectories.save_splits(run_dir / "dataset.npz", data)
    return data


def make_split(cfg: DictConfig, config, split: str, count: int, first_seed: int) -> Trajectories:
    policies = config.test_policies if split == "test" else config.train_policies
    env_config, budget, reward = (OmegaConf.to_object(cfg[k]) for k in ("env", "budget", "reward"))
    with progress_bar(cfg.progress) as bar:
        task = bar.add_task(f"simulating {split} trajectories ({', '.join(policies)})", total=count)
        return generate(env_config, budget, reward, list(policies), split_seeds(first_seed, split, count),
                        on_episode=lambda: bar.advance(task))


@torch.no_grad()
def predict(net: RebuildNet, data: Trajectories, device) -> tuple[float, np.ndarray]:
    """Mean scaled MSE and the rebuilt counts [N, T, M, 3] of a whole split."""
    net.eval()
    losses, estimates = [], []
    for start in range(0, len(data.observed), EVAL_BATCH):
        observed = torch.as_tensor(data.observed[start:start + EVAL_BATCH], device=device)
        hidden = torch.as_tensor(data.hidden[start:start + EVAL_BATCH], device=device)
        scaled, _ = net(observed)
        losses.append(torch.nn.functional.mse_loss(scaled, hidden / net.scale, reduction="sum").item())
        estimates.append(net.counts(scaled).cpu().numpy())
    return float(sum(losses) / data.hidden.size), np.concatenate(estimates)


def report(run_dir: Path, cfg: DictConfig, net: RebuildNet, test: Trajectories, device, progress: dict | None) -> None:
    config = OmegaConf.to_object(cfg.rebuild)
    _, estimate = predict(net, test, device)
    metrics = rebuild_accuracy(estimate, test.hidden, REBUILT, config.accuracy_tolerance)
    metrics.insert(0, "env", cfg.env.name)
    metrics["layers"], metrics["hidden"] = net.branches[0].num_layers, net.branches[0].hidden_size
    metrics["test_episodes"] = len(test.seeds)
    if progress is not None:
        metrics["training_seconds"] = progress["seconds"]
    write_csv(run_dir / "rebuild_metrics.csv", metrics)
    title = f"rebuild on {cfg.env.name}: {metrics['layers'].iloc[0]} GRU layers of {metrics['hidden'].iloc[0]}"
    lines = [f"# {title}", "", f"Test trajectories: {len(test.seeds)} (policies {', '.join(sorted(set(test.policies)))}; "
             f"seeds {test.seeds.min()}..{test.seeds.max()})", "",
             f"Accuracy = share of outputs with relative error < {config.accuracy_tolerance:.0%} (KDD'21 Fig. 6).", "",
             "| compartment | accuracy | MAE (people) | relative error | city-total relative error |", "|---|---|---|---|---|"]
    lines += [f"| {r.compartment} | {r.accuracy:.3f} | {r.mae:.2f} | {r.relative_error:.3f} | {r.city_total_relative_error:.3f} |"
              for r in metrics.itertuples()]
    if progress is not None:
        lines += ["", f"Training: {progress['epoch']} epochs in {progress['seconds']:.1f} s; best validation loss "
                      f"{progress['best_loss']:.4g}."]
    write_text(run_dir / "summary.md", "\n".join(lines) + "\n")
    if cfg.get("plots", True):
        plot_rebuild(estimate[0], test.hidden[0], REBUILT, f"{title}, test episode (seed {test.seeds[0]})",
                     run_dir / "plots" / "rebuild.png")
    print("\n".join(lines[-(len(metrics) + 4):]))
    print(f"wrote {run_dir}")


def save(run_dir: Path, cfg: DictConfig, net, optimizer, rng, progress: dict) -> None:
    save_checkpoint(run_dir, {"net": net.state_dict(), "optimizer": optimizer.state_dict(), "progress": progress,
                              "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                              "config": OmegaConf.to_container(cfg, resolve=True)})
    write_csv(run_dir / "rebuild_log.csv", pd.DataFrame(progress["log"]))


def resumable_state(run_dir: Path, cfg: DictConfig) -> dict:
    """The checkpoint to resume, refused unless it was saved with the same settings (only rebuild.epochs may grow)."""
    path = checkpoint_path(run_dir)
    state = load_checkpoint(run_dir, required=("net", "optimizer", "progress", "rng", "torch_rng", "config"))
    check_resumable(state, OmegaConf.to_container(cfg, resolve=True), path, group="rebuild", length_key="epochs")
    return state


def restore(state: dict, run_dir: Path, net, optimizer, rng) -> dict:
    """Network, optimiser and random states from a checkpoint; returns its progress."""
    path = checkpoint_path(run_dir)
    try:
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        # Checkpoints of earlier versions stop only between epochs and lack the mid-epoch keys.
        return {**fresh_progress(), **state["progress"]}
    except Exception as exc:  # other layer sizes, or a hand-made file
        raise EpictlError(f"{path}: does not fit this rebuild network ({reason(exc)})") from None
