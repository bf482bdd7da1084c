"""epictl: a command-line experiment runner for RL epidemic control."""

__version__ = "0.1.0"
