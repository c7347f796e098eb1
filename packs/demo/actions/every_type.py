from st2common.runners.base_action import Action


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class EveryType(Action):
    """Return every parameter received with its JSON type; the secret only as given or not."""

    def run(self, **parameters):
        secret = parameters.pop("api_secret", None)
        received = dict(sorted(parameters.items()))
        return {
            "received": received,
            "types": {name: json_type(value) for name, value in received.items()},
            "api_secret": "given" if secret else "not given",
        }
