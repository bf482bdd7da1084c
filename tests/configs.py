"""An agent's config by its conf/agent name, for tests that build an agent outside a run.

The yaml is composed as `agent=<name>` composes it (its defaults chain and its schema), so every value
comes from conf/agent/, none from code.
"""

from __future__ import annotations

from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from epictl.config import register
from epictl.paths import CONF_DIR


def agent_config(name: str, **overrides: Any):
    """conf/agent/<name>.yaml as its schema dataclass, each of ``overrides`` replacing a field (type-checked)."""
    register()
    if GlobalHydra.instance().is_initialized():  # left so by an epictl command run in this process
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="agent_config"):
        node = compose(overrides=[f"+agent={name}"]).agent
    for key, value in overrides.items():
        node[key] = value  # assignment replaces a whole value (a dict too), as a dataclass field would be
    return OmegaConf.to_object(node)
