"""st2common.exceptions.action: what StackStorm actions raise about their parameters (the
Exchange `csv` pack's format action raises InvalidActionParameterException)."""

from st2common.exceptions import StackStormBaseException


class ParameterRenderingFailedException(StackStormBaseException):
    pass


class InvalidActionReferencedException(StackStormBaseException):
    pass


class InvalidActionParameterException(StackStormBaseException):
    pass
