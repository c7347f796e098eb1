"""The import path of Action before StackStorm 2.x, still used by older Exchange packs."""

from st2common.runners.base_action import Action

__all__ = ["Action"]
