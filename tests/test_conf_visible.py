"""Every value is visible in yaml: each agent yaml (with the files its defaults list pulls in) sets every
field of its schema, each metapopulation env sets every scenario field, and every agent option and
experiment file composes with no value left missing. The schemas validate; they hold no defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from epictl.agents.registry import KINDS, agent_kind
from epictl.config import register
from epictl.envs.metapop_family import MetapopEnvConfig, Scenario
from epictl.envs.registry import family
from epictl.paths import CONF_DIR

SCHEMAS = {kind.schema: kind.config for kind in KINDS.values()}
AGENTS = sorted(CONF_DIR.glob("agent/*.yaml"))
ENVS = sorted(CONF_DIR.glob("env/*.yaml"))
EXPERIMENTS = sorted(path.relative_to(CONF_DIR / "experiment").with_suffix("").as_posix()
                     for path in CONF_DIR.glob("experiment/**/*.yaml"))
# `make test` composes the top-level experiments and the last cell of each table (the most layered: released
# world, Table 4 observation); `make test-smoke` every cell.
TABLES = {name.split("/")[0] for name in EXPERIMENTS if "/" in name}
QUICK = {name for name in EXPERIMENTS if "/" not in name} | {
    max(name for name in EXPERIMENTS if name.startswith(f"{table}/")) for table in TABLES}


def written(path: Path, section: Callable[[Path, DictConfig], DictConfig | None]) -> tuple[set[str], set[str]]:
    """The keys that ``path`` and the files of its group named in its defaults list (recursively) write in
    ``section``, and the schemas the chain names; other groups' entries (city: beijing, override ...) are dicts."""
    node = OmegaConf.load(path)
    keys, schemas = set(), set()
    for entry in node.get("defaults", []):
        if isinstance(entry, str) and entry != "_self_":
            name = entry.split("@")[0].rsplit("/", 1)[-1]  # /agent/baseline_schema@agent -> baseline_schema
            if name.endswith("_schema"):
                schemas.add(name)
            else:
                base_keys, base_schemas = written(path.with_name(f"{name}.yaml"), section)
                keys, schemas = keys | base_keys, schemas | base_schemas
    return keys | set(section(path, node) or {}) - {"defaults"}, schemas


def agent_section(path: Path, node: DictConfig) -> DictConfig | None:
    """A `# @package _global_` agent file writes the agent under `agent:` (and env keys beside it)."""
    return node.get("agent") if path.read_text().startswith("# @package _global_") else node


@pytest.mark.parametrize("path", AGENTS, ids=lambda path: path.stem)
def test_agent_yaml_writes_every_field_of_its_schema(path):
    keys, schemas = written(path, agent_section)
    assert len(schemas) == 1, f"{path.name}: its defaults chain names the schemas {sorted(schemas)}"
    missing = [field.name for field in fields(SCHEMAS[schemas.pop()]) if field.name not in keys]
    assert not missing, f"{path.name} (with its defaults chain) leaves {missing} to code"


METAPOP_ENVS = [path for path in ENVS if "metapop_schema" in written(path, lambda path, node: None)[1]]


@pytest.mark.parametrize("path", METAPOP_ENVS, ids=lambda path: path.stem)
def test_metapop_env_yaml_writes_every_scenario_field(path):
    keys, _ = written(path, lambda path, node: node.get("scenario"))
    missing = [field.name for field in fields(Scenario) if field.name not in keys]
    assert not missing, f"{path.name} (with its defaults chain) leaves scenario {missing} to code"


# The model's params keep their sourced defaults in their dataclasses (epictl/sim/metapop/params.py, sources.py).
MODEL_PARAMS = {"family", "city", "disease", "sim", "scenario"}


@pytest.mark.parametrize("path", METAPOP_ENVS, ids=lambda path: path.stem)
def test_metapop_env_yaml_writes_every_env_setting(path):
    keys = written_with_family(path)
    missing = [field.name for field in fields(MetapopEnvConfig) if field.name not in keys | MODEL_PARAMS]
    assert not missing, f"{path.name} (with its defaults chain) leaves {missing} to code"


def family_file(path: Path) -> str | None:
    """The env/family file an env yaml (or the env it builds on) merges in with `family@_here_: <name>`."""
    for entry in OmegaConf.load(path).get("defaults", []):
        if not isinstance(entry, str) and "family@_here_" in entry:
            return entry["family@_here_"]
        if isinstance(entry, str) and not entry.endswith(("_schema", "_self_")):
            return family_file(path.with_name(f"{entry}.yaml"))
    return None


def written_with_family(path: Path) -> set[str]:
    """Top-level keys of an env yaml's chain, with those of its family file."""
    keys, _ = written(path, lambda path, node: node)
    return keys | set(OmegaConf.load(CONF_DIR / "env" / "family" / f"{family_file(path)}.yaml")) - {"defaults"}


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.stem)
def test_every_env_merges_its_family_defaults(path):
    """The family's default reward (and budget, settings) are written once, in conf/env/family/<family>.yaml."""
    env = OmegaConf.load(path)
    schema = next(iter(written(path, lambda path, node: None)[1]))
    assert family_file(path) == schema.removesuffix("_schema"), f"{path.name}: add `family@_here_: <family>`"
    assert env.get("family") is None, f"{path.name}: the schema sets env.family"


def test_every_metapop_env_is_checked():
    assert {path.stem for path in METAPOP_ENVS} >= {"beijing", "shanghai", "tiny", "beijing_xinfadi"}


@pytest.mark.parametrize("name", [path.stem for path in AGENTS])
def test_every_agent_option_composes_with_no_missing_value(name):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        agent = compose(overrides=[f"+agent={name}"]).agent
    OmegaConf.to_container(agent, throw_on_missing=True)
    OmegaConf.to_object(agent).validate()


@pytest.mark.parametrize("experiment", [name if name in QUICK else pytest.param(name, marks=pytest.mark.smoke)
                                        for name in EXPERIMENTS])
def test_every_experiment_composes_with_no_missing_value(experiment):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"experiment={experiment}"])
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    env, agent = OmegaConf.to_object(cfg.env).validate(), OmegaConf.to_object(cfg.agent).validate()
    assert family(env.family).action in agent_kind(agent.kind).actions, f"{agent.name} cannot act in {env.name}"
