"""StackStorm compatibility layer for Python actions run by st2bridge; not StackStorm's st2common.

st2bridge/runners/python_action_host.py puts the `compat` directory first on the action's
sys.path, so that `from st2common.runners.base_action import Action` (and the older
`from st2actions.runners.pythonrunner import Action`) work unchanged. Nothing here imports
Django or st2bridge.
"""
