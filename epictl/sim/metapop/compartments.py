"""Column order of the metapopulation state array (KDD'21 spec §1; also the start-state file format)."""

S, E, IU, IT, IA, IH, R, D = range(8)
NAMES = ("S", "E", "Iu", "It", "Ia", "Ih", "R", "D")
N_COMPARTMENTS = 8
# Ih and D never move; It moves only with the `it_moves` option.
MOVING = (S, E, IU, IA, R)
MOVING_WITH_IT = (S, E, IU, IT, IA, R)
TICKS_PER_DAY = 48
SLOTS_PER_WEEK = 336
