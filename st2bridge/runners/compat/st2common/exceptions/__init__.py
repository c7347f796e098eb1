"""StackStorm's exception base class, as actions import it."""


class StackStormBaseException(Exception):
    """The base of StackStorm's own exceptions."""
