"""Environment families: an env config's ``family`` names its builder, imported only when used.

A builder takes (env config, budget, reward, agent config) and returns a Gymnasium env that also
offers ``family``, ``episode_report()``, ``snapshot()`` and ``restore(snapshot)``.
"""

from __future__ import annotations

from importlib import import_module

from epictl.errors import EpictlError

BUILDERS = {
    "metapop": "epictl.envs.metapop_factory:build_metapop_env",
    "grid": "epictl.envs.grid_factory:build_grid_env",
}


def make_env(env_config, budget, reward, agent_config):
    family = getattr(env_config, "family", None)
    if family not in BUILDERS:
        raise EpictlError(f"env.family={family!r}; choose one of {', '.join(BUILDERS)}")
    module, name = BUILDERS[family].split(":")
    return getattr(import_module(module), name)(env_config, budget, reward, agent_config)
