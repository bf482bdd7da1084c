"""Metapopulation city of KDD'21: regions x 8 compartments, 30-minute ticks, weekly mobility."""
