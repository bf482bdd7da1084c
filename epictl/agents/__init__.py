"""Agents see only observation and action spaces; every baseline is an agent too."""
