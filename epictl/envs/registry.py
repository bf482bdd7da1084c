"""The simulator families: one line each. A family's declaration (``envs/<family>_family.py``) names
its env config, builder, action shape and table units; this module imports no kernels."""

from __future__ import annotations

from epictl.envs import abm_family, clusters_family, contacts_family, grid_family, metapop_family
from epictl.envs.family import Family
from epictl.errors import EpictlError

FAMILIES: dict[str, Family] = {family.name: family for family in (metapop_family.FAMILY, grid_family.FAMILY,
                                                                    clusters_family.FAMILY, contacts_family.FAMILY,
                                                                    abm_family.FAMILY)}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise EpictlError(f"env.family={name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def make_env(env_config, budget, reward):
    """The Gymnasium env of ``env_config``'s family; it also offers ``family``, ``episode_report()``,
    ``snapshot()`` and ``restore(snapshot)``."""
    return family(getattr(env_config, "family", None)).build(env_config, budget, reward)


def make_vector_env(env_config, budget, reward):
    """``env_config.num_envs`` copies of its env as one Gymnasium vector env (envs/vector.py)."""
    from epictl.envs.vector import EpictlVectorEnv

    first = make_env(env_config, budget, reward)
    return EpictlVectorEnv([first] + [make_env(env_config, budget, reward) for _ in range(env_config.num_envs - 1)])
