"""Grid world of Ohi et al. 2020: people on a 2-D grid, collision infection, lockdown levels, economy."""
