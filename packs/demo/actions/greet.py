from st2common.runners.base_action import Action


class Greet(Action):
    """Return a greeting for ``name``, repeated ``times`` times."""

    def run(self, name, greeting="hello", times=1, shout=False):
        line = f"{greeting.capitalize()}, {name}!"
        if shout:
            line = line.upper()
        return "\n".join([line] * times)
