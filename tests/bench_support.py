"""Running a bench/ script as its users do, for the tests that run one on a tiny scale: on
SQLite, or, when DATABASE_URL names a PostgreSQL server (make test, through
scripts/with-postgres), on a new database of that server, dropped afterwards, so that each
bench starts from an empty one as it does in a full run."""

import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script, *args, timeout=300):
    """The standard output of `python bench/<script> args...`, which must succeed."""
    with bench_database() as url:
        done = subprocess.run(  # noqa: S603 (argv list, no shell)
            [sys.executable, f"bench/{script}", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def bench_database():
    """An empty URL (SQLite) without DATABASE_URL; else that of a new database on its server."""
    server = os.environ.get("DATABASE_URL", "")
    if not server:
        yield ""
        return
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as database:
        database.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as database:
            database.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
