"""Calibration: fit a simulator's free parameters to an observed daily series of confirmed cases."""
