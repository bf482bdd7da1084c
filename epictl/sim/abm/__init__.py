"""The 100,000-agent city of Deshkar et al. 2023 (spec abm-ddpg-lockdown-vaccination.md): 9 disease compartments in
12-hour ticks over houses, offices, schools and hospitals, lockdown with essential workers and violators, two
vaccines targeted at three age groups, and a household economy with a poverty line."""
