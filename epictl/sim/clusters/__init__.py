"""Multi-cluster outbreaks (Peng & Perrault, Hier-PPO; spec multi-cluster-npi.md): clusters of close contacts
whose disease courses are drawn at creation, tested and quarantined day by day under one shared test budget."""
