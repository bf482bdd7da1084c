"""The one exception type users see: its message is printed as a single line."""


class EpictlError(Exception):
    """Bad input (config, data file, shape) reported to the user without a traceback."""
