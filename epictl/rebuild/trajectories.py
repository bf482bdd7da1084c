"""Training data for the rebuild network: whole episodes of the run's scenario, daily, per region,
under a mix of baseline policies (spec §8). One trajectory per (seed, policy); the env observes
everything so the hidden compartments are there to learn from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from epictl.agents.registry import make_agent
from epictl.agents.rollout import play_episode
from epictl.atomic import write_atomic
from epictl.envs.registry import make_env
from epictl.errors import EpictlError
from epictl.rebuild.network import OBSERVED, REBUILT
from epictl.rebuild.policies import load_policy

# Seeds of the three splits, far apart so no episode is in two of them.
SPLIT_OFFSETS = {"train": 0, "validation": 50_000, "test": 100_000}


@dataclass
class Trajectories:
    observed: np.ndarray  # float32 [N, days + 1, M, 3]: It, Ih, D
    hidden: np.ndarray  # float32 [N, days + 1, M, 3]: E, Iu, R
    seeds: np.ndarray  # int64 [N]
    policies: np.ndarray  # str [N]

    @staticmethod
    def save_splits(path: Path, splits: dict[str, "Trajectories"]) -> None:
        """All splits in one .npz, keys ``<split>/<field>``."""
        arrays = {f"{split}/{key}": value for split, data in splits.items() for key, value in vars(data).items()}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as file:  # a file object: numpy would append .npz to a bare name
                np.savez_compressed(file, **arrays)

        write_atomic(path, write)

    @staticmethod
    def load_split(path: Path, split: str, n_regions: int) -> "Trajectories":
        try:
            with np.load(Path(path).expanduser(), allow_pickle=False) as data:
                loaded = Trajectories(*(data[f"{split}/{key}"] for key in ("observed", "hidden", "seeds", "policies")))
        except (OSError, KeyError, ValueError) as exc:
            raise EpictlError(f"{path}: not a rebuild dataset ({exc})") from None
        if loaded.observed.ndim != 4 or loaded.observed.shape[2] != n_regions:
            raise EpictlError(f"{path}: trajectories of shape {list(loaded.observed.shape)}, this city has {n_regions} regions")
        return loaded


def generate(env_config, budget, reward, policies: list[str], seeds: list[int],
             on_episode: Callable[[], None] | None = None) -> Trajectories:
    """Episode i uses seeds[i] and policies[i % len(policies)], each in the run's env with its own allocation."""
    loaded = [load_policy(name) for name in policies]
    envs: dict[str, object] = {}  # one env per allocation rule, so free phases are built once per seed
    observed, hidden, names = [], [], []
    for i, seed in enumerate(seeds):
        policy = loaded[i % len(loaded)]
        allocation = policy.allocation or env_config.allocation
        if allocation not in envs:
            envs[allocation] = make_env(replace(env_config, allocation=allocation, observation="perfect"), budget, reward)
        env = envs[allocation]
        play_episode(env, make_agent(policy.agent, env.observation_space, env.action_space, seed), seed)
        days = np.stack([record.observation for record in env.history])  # [days + 1, M, 8]
        channels = list(env.observation_space.channels)
        observed.append(days[..., [channels.index(c) for c in OBSERVED]])
        hidden.append(days[..., [channels.index(c) for c in REBUILT]])
        names.append(policy.agent.name)
        if on_episode:
            on_episode()
    return Trajectories(np.stack(observed).astype(np.float32), np.stack(hidden).astype(np.float32),
                        np.asarray(seeds, dtype=np.int64), np.asarray(names))


def split_seeds(first_seed: int, split: str, count: int) -> list[int]:
    return list(range(first_seed + SPLIT_OFFSETS[split], first_seed + SPLIT_OFFSETS[split] + count))
