"""What a table-row calibration fits (``table_rows`` of conf/calibrate.yaml); light, for the config schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from epictl.calibration.parameters import ParameterSpec

# The synthetic city's move shares (sim/metapop/synthetic.py): one mobility-intensity factor multiplies them all.
MOVE_SHARES = ("night_move_share", "weekday_peak_move_share", "weekday_midday_move_share", "weekend_peak_move_share",
               "commute_share")


@dataclass
class TableRowFit:
    """The continuous parameters (free within bounds, searched on a log scale, or fixed) and the discrete ones
    (every combination fitted in turn), and how long each fit searches."""

    move_scale: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 0.25, 4.0))
    """Factor on every move share of the synthetic city (fixed with value None: 1, the env's own shares)."""
    gravity_scale_km: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 1.0, 20.0))
    """Distance decay of the gravity model, km (fixed with value None: the env's own)."""
    initial_compartments: list[str] = field(default_factory=lambda: ["E", "Iu"])
    """The seeds' compartments tried."""
    free_phase_seeds: list[Optional[int]] = field(default_factory=lambda: [None, 0])
    """scenario.free_phase_seed values tried (None: each run's own free phase)."""
    search_points: int = 12
    """Latin-hypercube points per discrete choice before Nelder-Mead refines the best."""
    max_evaluations: int = 36
    """Nelder-Mead evaluations at most per discrete choice."""
