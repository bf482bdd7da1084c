"""Gymnasium ids for epictl's envs, so that any RL library builds them with ``gymnasium.make``, no Hydra needed.

    import gymnasium as gym
    import epictl.gym_ids  # registers the ids in IDS (or name the module in the id: "epictl.gym_ids:epictl/Grid-v0")

    env = gym.make("epictl/Grid-v0", env="grid_tiny", sim={"density": 0.03})
    envs = gym.make_vec("epictl/Grid-v0", num_envs=8)  # one EpictlVectorEnv: every copy's day in one kernel call

An id builds the env of one conf/env/<env>.yaml exactly as `epictl train env=<env>` does: the family's defaults,
the env's own reward and budget. Keyword arguments:

- ``env="grid_tiny"``: another conf/env/ file of the id's family (``env="papw_late"`` on epictl/ContactCity-v0);
- ``reward=``, ``budget=``: a conf/reward/ or conf/budget/ file by name, or a dict of values overriding the env's;
- ``flat_action=True`` (metapop ids): one Box(-1, 1, (4,)) action (envs/flat_action.py), for libraries whose
  policies act in a single Box;
- any other keyword sets that key of the env config: a dict merges into that section (``sim={"density": 0.03}``,
  ``scenario={"free_days": 30}``), any other value replaces it (``delta=[0.2, 0.2]``).

A bad keyword stops with one EpictlError line naming it. Episodes end on their own (no TimeLimit is added);
``reset(options={"training": True})`` starts the training episodes `epictl train` draws (e.g. the grid world's
random outbreak size). Importing this module loads only Gymnasium: Hydra and the kernels load on make.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import cache, partial
from typing import NamedTuple

import gymnasium as gym

from epictl.errors import EpictlError
from epictl.paths import CONF_DIR


class GymId(NamedTuple):
    family: str  # env= may pick any conf/env/ file of this family
    env: str  # the conf/env/<env>.yaml built by default


IDS = {
    "epictl/Beijing-v0": GymId("metapop", "beijing"),  # KDD'21 experiment 1
    "epictl/Shanghai-v0": GymId("metapop", "shanghai"),  # KDD'21 experiment 3
    "epictl/Grid-v0": GymId("grid", "grid"),  # Ohi et al. 2020, the paper's evaluation scenario
    "epictl/Clusters-v0": GymId("clusters", "clusters"),  # Hier-PPO Table 2, main setting
    "epictl/ContactCity-v0": GymId("contacts", "papw"),  # PAPW 2020 challenge, final round (IDRLECA's Default)
    "epictl/AgeAbm-v0": GymId("abm", "abm"),  # Deshkar et al. 2023, Exp 1
}
KEYWORDS = ("env", "reward", "budget", "flat_action")  # the keywords that are not env config keys


def build_gym_env(gym_id: str, *, env: str, reward: str | Mapping | None = None, budget: str | Mapping | None = None,
                  flat_action: bool = False, **env_values) -> gym.Env:
    """The env of ``gym_id`` (gymnasium.make's entry point; the module docstring explains the keywords)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from epictl.envs.registry import make_env

    family = IDS[gym_id].family
    if not isinstance(flat_action, bool):
        raise EpictlError(f"{gym_id}: flat_action={flat_action!r} must be True or False")
    if flat_action and family != "metapop":
        raise EpictlError(f"{gym_id}: flat_action=True flattens the metapop action only; {family} envs keep theirs")
    choices = {"env": conf_name(gym_id, "env", env)}
    for group, value in (("reward", reward), ("budget", budget)):
        if isinstance(value, str):
            choices[group] = conf_name(gym_id, group, value)
        elif value is not None and not isinstance(value, Mapping):
            raise EpictlError(f"{gym_id}: {group}={value!r} must name a conf/{group}/ file or be a dict of its values")
    cfg = copy.deepcopy(compose_train_config(tuple(f"{group}={name}" for group, name in choices.items())))
    if cfg.env.family != family:
        raise EpictlError(f"{gym_id}: env={env!r} is a {cfg.env.family} env; this id builds {family} envs")
    set_values(gym_id, cfg.env, "env", env_values)
    for section, values in (("reward", reward), ("budget", budget)):
        if isinstance(values, Mapping):
            set_values(gym_id, cfg[section], section, values)
    try:
        env_config, budget_config, reward_config = (OmegaConf.to_object(cfg[key]) for key in ("env", "budget", "reward"))
    except OmegaConfBaseException as exc:
        raise EpictlError(f"{gym_id}: {exc.full_key}: {str(exc).splitlines()[0]}") from None
    if env_config.num_envs != 1:  # make_env would build one env and drop the setting
        raise EpictlError(f"{gym_id}: num_envs={env_config.num_envs}: gymnasium.make builds one env; "
                          f"gymnasium.make_vec({gym_id!r}, num_envs={env_config.num_envs}) builds several")
    built = make_env(env_config, budget_config.validate(), reward_config.validate())
    if flat_action:
        from epictl.envs.flat_action import FlatMetapopAction

        return FlatMetapopAction(built)
    return built


def build_gym_vector_env(gym_id: str, *, num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    """gymnasium.make_vec's entry point: ``num_envs`` envs of ``gym_id`` as one EpictlVectorEnv, whose simulators
    step every copy in one kernel call (envs/vector.py)."""
    from epictl.envs.vector import EpictlVectorEnv

    if not (isinstance(num_envs, int) and num_envs >= 1):
        raise EpictlError(f"{gym_id}: num_envs={num_envs!r} must be a whole number >= 1")
    return EpictlVectorEnv([build_gym_env(gym_id, **kwargs) for _ in range(num_envs)])


def conf_name(gym_id: str, group: str, name) -> str:
    """``name`` if conf/<group>/<name>.yaml exists: only plain names reach Hydra's override parser."""
    if isinstance(name, str) and re.fullmatch(r"\w+", name) and (CONF_DIR / group / f"{name}.yaml").is_file():
        return name
    names = sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))
    raise EpictlError(f"{gym_id}: {group}={name!r} names no conf/{group}/ file; choose one of {', '.join(names)}")


@cache  # gymnasium.make_vec makes one env per copy: the same config, composed once
def compose_train_config(overrides: tuple[str, ...]):
    """The config `epictl train <overrides>` runs with (copy it before changing it). A Hydra app calling
    gymnasium.make keeps its own Hydra: it is set aside while this composes and put back after."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from epictl.config import register

    register()
    outer = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="epictl_gym"):
            return compose(config_name="train", overrides=list(overrides))
    finally:
        if outer is not None:
            GlobalHydra.instance().initialize(outer)


def set_values(gym_id: str, node, section: str, values: Mapping) -> None:
    """Each value merged into ``node`` (its schema checks keys and types); a bad one is named in one line."""
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    for key, value in values.items():
        try:
            node.merge_with({key: value})
        except OmegaConfBaseException as exc:
            where = exc.full_key if exc.full_key and exc.full_key != section else f"{section}.{key}"
            message = f"{gym_id}: {where}: {str(exc).splitlines()[0]}"
            if isinstance(exc, ConfigKeyError) and where == f"{section}.{key}":  # no such key in the section at all
                choices = [*KEYWORDS, *node] if section == "env" else list(node)  # env values are plain keywords
                message += f"; choose one of {', '.join(choices)}"
            raise EpictlError(message) from None


def register_ids() -> None:
    for gym_id, default in IDS.items():
        gym.register(gym_id, entry_point=partial(build_gym_env, gym_id),
                     vector_entry_point=partial(build_gym_vector_env, gym_id), kwargs={"env": default.env})


register_ids()
