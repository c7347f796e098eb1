"""Action, the base class of StackStorm Python actions, as st2bridge provides it.

An action subclasses it and implements run(**parameters); it may use self.config (the pack
config), self.logger (writes to the execution's stderr) and self.action_service
(get_value / set_value / delete_value on the datastore).
"""

import logging
import sys

# StackStorm's extra log level, above CRITICAL, accepted by the runner's log_level parameter.
AUDIT = logging.CRITICAL + 10
logging.addLevelName(AUDIT, "AUDIT")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [-] %(message)s"

_log_level = logging.DEBUG


def set_log_level(name):
    """Called by the action host before the action is created (runner parameter log_level)."""
    global _log_level
    _log_level = logging.getLevelName(str(name).upper())
    if not isinstance(_log_level, int):
        _log_level = logging.DEBUG


def action_logger(class_name):
    logger = logging.getLogger(f"actions.python.{class_name}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(_log_level)
    return logger


class Action:
    def __init__(self, config=None, action_service=None):
        self.config = config or {}
        self.action_service = action_service
        self.logger = action_logger(type(self).__name__)

    def run(self, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement run().")
