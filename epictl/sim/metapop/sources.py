"""Where a city comes from: a synthetic build (cached as npz), the original JSON folder, or an npz.

``CityConfig`` is the schema of ``conf/env/city/*.yaml``; ``load_city`` accepts it or an OmegaConf
node of the same shape. A synthetic city is cached under a name that hashes every knob of its spec
(and the builder's format version), so changing anything rebuilds and the next load takes a second.
"""

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from epictl.errors import EpictlError
from epictl.sim.metapop.city import City, load_npz, save_npz
from epictl.sim.metapop.loader import load_original
from epictl.sim.metapop.synthetic import SyntheticCitySpec, build_synthetic

# Bump whenever build_synthetic gives different arrays for the same spec: stale caches are ignored.
SYNTHETIC_FORMAT_VERSION = 1
SOURCES = ("synthetic", "original", "npz")


@dataclass
class CityConfig:
    """Which city to simulate and where its data lives."""

    source: str = "synthetic"
    """One of: synthetic (built from ``synthetic``), original (KDD'21 JSON folder), npz (epictl file)."""
    path: Optional[str] = None
    """Folder (original) or file (npz); unused for synthetic cities."""
    synthetic: SyntheticCitySpec = field(default_factory=SyntheticCitySpec)
    """Spec of the synthetic city."""
    cache_dir: str = "~/.cache/epictl/cities"
    """Where built synthetic cities are kept."""


def load_city(cfg: Any) -> City:
    """The city described by ``cfg`` (a :class:`CityConfig`, or an OmegaConf node / dict of that schema)."""
    cfg = as_city_config(cfg)
    if cfg.source == "synthetic":
        return _load_synthetic_cached(cfg.synthetic, Path(cfg.cache_dir).expanduser())
    if cfg.source not in SOURCES:
        raise EpictlError(f"city.source: unknown source {cfg.source!r} (expected one of {', '.join(SOURCES)})")
    if not cfg.path:
        raise EpictlError(f"city.path: required for source {cfg.source!r}")
    path = Path(cfg.path).expanduser()
    return load_original(path) if cfg.source == "original" else load_npz(path)


def as_city_config(cfg: Any) -> CityConfig:
    if isinstance(cfg, CityConfig):
        return cfg
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CityConfig), cfg))
    except OmegaConfBaseException as exc:
        raise EpictlError(f"city config: {str(exc).splitlines()[0]}") from None


def convert_original_to_npz(folder: Path, out_path: Path) -> City:
    """Read an original-format folder once and write the compact npz that loads in a second."""
    city = load_original(Path(folder))
    save_npz(city, Path(out_path).expanduser())
    return city


def synthetic_cache_path(spec: SyntheticCitySpec, cache_dir: Path) -> Path:
    content = json.dumps({"format": SYNTHETIC_FORMAT_VERSION, "spec": dataclasses.asdict(spec)}, sort_keys=True)
    digest = hashlib.sha1(content.encode("utf-8")).hexdigest()[:16]
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.name) or "city"
    return Path(cache_dir) / f"{safe_name}-v{SYNTHETIC_FORMAT_VERSION}-{digest}.npz"


def _load_synthetic_cached(spec: SyntheticCitySpec, cache_dir: Path) -> City:
    path = synthetic_cache_path(spec, cache_dir)
    if path.is_file():
        try:
            return load_npz(path)
        except EpictlError:
            pass  # an unreadable cache entry is rebuilt and overwritten below
    city = build_synthetic(spec)
    try:
        save_npz(city, path)
    except OSError as exc:
        raise EpictlError(f"{path}: cannot write the city cache ({exc.strerror}); set city.cache_dir to a writable folder") from None
    return city
