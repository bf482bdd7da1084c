"""The one exception type users see: its message is printed as a single line."""


class EpictlError(Exception):
    """Bad input (config, data file, shape) reported to the user without a traceback."""


def reason(exc: BaseException) -> str:
    """An exception as a short single line (torch's messages span lines; some are empty)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
