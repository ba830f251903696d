"""The base of every error a user can fix; programs print its message alone, without a traceback."""


class UserError(Exception):
    """A problem with the input, the config or a service, phrased as what went wrong and the fix."""
