"""Status codes of a person and the slots of the daily tally the kernels fill (spec grid-lockdown §5-§8)."""

S, E, I, R, D = range(5)  # susceptible, exposed (latent), infectious, recovered, dead
NAMES = ("S", "E", "I", "R", "D")
EMPTY = -1  # an occupancy cell without a person
WALL = -2  # the border cells around the grid, which nobody enters
NO_CELL = -1  # the cell of a dead person: off the grid

# Daily tally written by kernels.move_day / kernels.disease_day: S..D occupy slots 0-4.
NEW_EXPOSED = 5  # infections today (people who left S)
NEW_INFECTIOUS = 6  # people who became infectious today
NEW_RECOVERED = 7
NEW_DEATHS = 8
SECONDARY_OF_INFECTIOUS = 9  # sum of secondary cases caused by people infectious at day end
INFECTIOUS_WHO_INFECTED = 10  # infectious people who infected at least one person
INFECTED_WHO_INFECTED = 11  # exposed or infectious people who infected at least one person
TALLY_SIZE = 12
