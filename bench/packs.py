"""How long pack registration takes for ~4,500 actions: cold, warm, and with one file changed.

    .venv/bin/python bench/packs.py            # SQLite in a throwaway directory
    DATABASE_URL=postgres://... .venv/bin/python bench/packs.py

It builds a pack set in a temporary directory: copies of StackStorm's reference packs
(../shared/reference/packs, or --source), each copy under a ref of its own (`slack_2`, ...),
until it holds at least --actions actions. Then, in this process against a fresh database
(migrated here), it times st2bridge.packs.register_packs as `manage.py register_packs`
calls it:

  baseline   cold (empty database), YAML parsed with PyYAML's pure-Python SafeLoader, what
             the loader used before issue 15; the database is emptied (flush) afterwards
  cold       cold again, with the C loader (yaml.CSafeLoader), as registration runs now
  warm       again, nothing changed: every pack is skipped by its content hash
  changed    again after one action file of one pack changed: that pack only
  restart    `manage.py register_packs` in a new process, nothing changed: what `make run`
             adds to a restart (Python, Django and the registration)

Each figure is wall-clock and CPU time: on shared cores the wall clock also counts the time
other processes held the CPU. Targets (issue 15): cold under 5 s, warm under 1 s. Each
registration is counted and checked (every action registered, no error). The database is
emptied between the baseline and the rest: with DATABASE_URL, give it a throwaway one. The
packs' virtualenvs are not built (ST2_SETUP_VIRTUALENVS=0): pip is not what is measured. The
figures are appended to bench/RESULTS.md (--no-results: not).
"""

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "packs"
TARGET_COLD = 5.0
TARGET_WARM = 1.0
PACK_FIELD = re.compile(r"^(\s*pack\s*:\s*)[\"']?([a-z0-9_]+)[\"']?\s*$", re.MULTILINE)
REF_FIELD = re.compile(r"^(ref\s*:\s*).*$", re.MULTILINE)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=4500, help="at least this many actions")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="packs to copy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    return parser.parse_args()


# --- the pack set ---------------------------------------------------------------------------


def action_count(pack_dir):
    actions = pack_dir / "actions"
    if not actions.is_dir():
        return 0
    return sum(1 for path in actions.iterdir() if path.suffix in (".yaml", ".yml"))


def copy_pack(source, target, ref):
    """`source` copied to `target` as pack `ref`: pack.yaml's ref and name, and every `pack:`
    line of its metadata files, say `ref`."""
    shutil.copytree(source, target, symlinks=True)
    metadata = target / "pack.yaml"
    text = metadata.read_text()
    text = REF_FIELD.sub("", text)
    text = re.sub(r"^(name\s*:\s*).*$", rf"\g<1>{ref}", text, count=1, flags=re.MULTILINE)
    metadata.write_text(f"{text.rstrip()}\nref: {ref}\n")
    for folder in ("actions", "aliases", "policies", "rules", "sensors", "triggers"):
        for path in (target / folder).glob("*.y*ml") if (target / folder).is_dir() else []:
            original = path.read_text()
            changed = PACK_FIELD.sub(rf"\g<1>{ref}", original)
            if changed != original:
                path.write_text(changed)


def build_pack_set(source, target, wanted):
    """Copies of the packs of `source` in `target` until they hold `wanted` actions;
    returns (packs, actions)."""
    originals = sorted(path for path in source.iterdir() if (path / "pack.yaml").is_file())
    if not originals:
        sys.exit(f"No packs in {source}")
    packs = actions = copy = 0
    while actions < wanted:
        copy += 1
        for original in originals:
            ref = f"{original.name}_{copy}"
            copy_pack(original, target / ref, ref)
            packs += 1
            actions += action_count(original)
    return packs, actions


# --- timing ---------------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    """((wall seconds, CPU seconds of this process), what `function` returned)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started, time.process_time() - cpu), result


def check(report, label, expected_actions=None, expected_packs=None):
    if report.errors:
        sys.exit(f"{label}: registration problems:\n" + "\n".join(report.errors[:20]))
    if expected_actions is not None and report.actions != expected_actions:
        sys.exit(f"{label}: {report.actions} actions registered, {expected_actions} expected")
    if expected_packs is not None and report.packs != expected_packs:
        sys.exit(f"{label}: {report.packs} packs registered, {expected_packs} expected")


def measure(packs_dir, packs, actions, env):
    import django

    django.setup()
    import yaml
    from django.conf import settings
    from django.core.management import call_command

    from st2bridge import pack_files, params
    from st2bridge.packs import register_packs

    call_command("migrate", verbosity=0)
    runners = [settings.ST2_RUNNER_TYPES_FILE]
    figures = {}

    pack_files.YAML_LOADER = yaml.SafeLoader
    figures["baseline"], report = timed(register_packs, [packs_dir], runners)
    check(report, "baseline", actions, packs)
    call_command("flush", interactive=False, verbosity=0)
    params.forget_valid_specs()  # the cold run starts as cold as the baseline did
    pack_files.YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    figures["cold"], report = timed(register_packs, [packs_dir], runners)
    check(report, "cold", actions, packs)
    figures["warm"], report = timed(register_packs, [packs_dir], runners)
    check(report, "warm", 0, 0)
    if report.unchanged != packs:
        sys.exit(f"warm: {report.unchanged} packs skipped, {packs} expected")

    changed = next(iter(sorted(packs_dir.glob("*/actions/*.yaml"))))
    changed.write_text(changed.read_text() + "\n# changed by bench/packs.py\n")
    figures["changed"], report = timed(register_packs, [packs_dir], runners)
    check(report, "changed", expected_packs=1)

    command = [sys.executable, "manage.py", "register_packs", "--packs-dir", str(packs_dir)]
    started, children = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    figures["restart"] = (time.perf_counter() - started, _children_cpu() - children)
    if done.returncode != 0 or f"{packs} packs unchanged" not in done.stdout:
        sys.exit(f"manage.py register_packs:\n{done.stdout}{done.stderr}")
    return figures, pack_files.YAML_LOADER.__name__


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- report ---------------------------------------------------------------------------------


def report_lines(figures, packs, actions, files, loader, load):
    """The figures as wall and CPU seconds: on shared cores the wall clock also counts the
    time other processes held the CPU (the load average is printed), the CPU time does not."""
    wall = {name: figure[0] for name, figure in figures.items()}
    cpu = {name: figure[1] for name, figure in figures.items()}
    ratio = cpu["baseline"] / cpu["cold"] if cpu["cold"] else float("inf")

    def verdict(name, target):
        return (
            f"wall {'met' if wall[name] < target else 'NOT met'}, "
            f"CPU {'met' if cpu[name] < target else 'NOT met'}"
        )

    def row(label, name, note=""):
        return f"{label:<42}{wall[name]:7.2f} s {cpu[name]:7.2f} s{note}"

    return [
        f"pack set: {packs} packs, {actions} actions, {files} files; load average {load}",
        f"{'':<42}{'wall':>9} {'CPU':>9}",
        row("cold, pure-Python YAML loader (baseline)", "baseline"),
        row(f"cold, {loader}", "cold", f"   CPU {ratio:.1f}x less than the baseline"),
        row("warm, nothing changed", "warm"),
        row("one action file changed", "changed"),
        row("manage.py register_packs, no change", "restart", "   (a new process)"),
        f"targets: cold < {TARGET_COLD:g} s ({verdict('cold', TARGET_COLD)}); "
        f"warm < {TARGET_WARM:g} s ({verdict('warm', TARGET_WARM)})",
    ]


def append_results(lines):
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a") as results:
        results.write(
            f"\n## bench/packs.py, {stamp} ({platform.machine()}, {os.cpu_count()} cores, "
            f"{database})\n\n```\n" + "\n".join(lines) + "\n```\n"
        )


def main():
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-packs-"))
    try:
        packs_dir = work / "packs"
        packs_dir.mkdir()
        data_dir = work / "data"
        data_dir.mkdir()
        packs, actions = build_pack_set(args.source, packs_dir, args.actions)
        files = sum(1 for path in packs_dir.rglob("*") if path.is_file())
        env = {
            **os.environ,
            "PORTAL_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            # The packs' metadata only: no pip install of their requirements (60 virtualenvs).
            "ST2_SETUP_VIRTUALENVS": "0",
        }
        if not os.environ.get("DATABASE_URL"):
            env["SQLITE_PATH"] = str(data_dir / "portal.sqlite3")
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        figures, loader = measure(packs_dir, packs, actions, env)
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        lines = report_lines(figures, packs, actions, files, loader, load)
        print("\n".join(lines))
        if not args.no_results:
            append_results(lines)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
