"""Simulator families: numpy arrays and Numba kernels, no torch, no Hydra."""
