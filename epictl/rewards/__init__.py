"""Rewards: pure functions of environment state totals."""
