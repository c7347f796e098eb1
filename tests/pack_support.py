"""Pack directories written for a test: pack.yaml with StackStorm's required fields, and
metadata files in the folders the loader reads (actions, rules, sensors, triggers)."""

import textwrap

import yaml

NOOP_ACTION = "name: {name}\nrunner_type: noop\ndescription: {description}\n"


def pack_yaml(**fields):
    """pack.yaml text with StackStorm's required fields, overridden or removed (None)."""
    base = {"description": "Test pack.", "version": "1.0.0", "author": "tests"}
    merged = {key: value for key, value in {**base, **fields}.items() if value is not None}
    return yaml.safe_dump(merged)


def write_pack(packs_dir, ref, actions=(), pack_yaml=None, **folders):
    """A pack directory with the given {file name: text} action files, and as much for the
    other folders given by name (rules={...}, sensors={...}, triggers={...}); texts are
    dedented."""
    pack_dir = packs_dir / ref
    (pack_dir / "actions").mkdir(parents=True)
    default_yaml = f"name: {ref}\ndescription: Test pack.\nversion: 1.0.0\nauthor: tests\n"
    (pack_dir / "pack.yaml").write_text(pack_yaml or default_yaml)
    for folder, files in {"actions": actions, **folders}.items():
        (pack_dir / folder).mkdir(exist_ok=True)
        for file_name, text in dict(files).items():
            (pack_dir / folder / file_name).write_text(textwrap.dedent(text))
    return pack_dir
