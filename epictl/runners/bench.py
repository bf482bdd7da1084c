"""`epictl bench`: placeholder replaced below."""
