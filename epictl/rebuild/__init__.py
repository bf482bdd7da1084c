"""The information-rebuilding network (KDD'21 §3.2): GRUs that estimate the hidden E, Iu, R per region
from the observed It, Ih, D. Its settings (config), network and saved form (network), training data
(policies, trajectories) and the wrapper that lets any agent act on rebuilt information (rebuilding).
`epictl rebuild` (epictl/runners/rebuild.py) trains and scores it; `rebuild_from=<run>` uses it."""
