"""The one exception type users see: a clear, one-line message and a non-zero exit."""


class LivekeyError(Exception):
    """A problem the user can fix; the CLI prints its message on one line, no traceback."""
