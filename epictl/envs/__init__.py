"""Gymnasium environments: one simulator each, observation model, action decoding, reward."""
