"""Where the time of one API read goes, in process: CPU per request, SQL statements, and a
cProfile breakdown by module (or the top functions).

    .venv/bin/python bench/api_profile.py                       # GET /api/v1/user
    .venv/bin/python bench/api_profile.py /api/v1/executions?limit=50 --top 30

It builds a throwaway site in a temporary directory (SQLite; DATABASE_URL for PostgreSQL):
migrate, the bundled packs and --actions generated actions, a `bench` user who is not an
administrator with a token, and --executions finished core.noop executions (launched through
the service, then marked succeeded). Requests go through Django's WSGI handler, as gunicorn
calls it, with no server and no network: what is left is the request's own cost. The CPU
time per request is the best of --repeat runs of --requests requests (other tenants of shared
cores stretch a run, never shorten it). bench/api.py measures the same reads under gunicorn.
"""

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default="/api/v1/user", help="path and query")
    parser.add_argument("--key", action="store_true", help="by API key instead of token")
    parser.add_argument("--requests", type=int, default=500, help="requests per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is printed")
    parser.add_argument("--actions", type=int, default=60)
    parser.add_argument("--executions", type=int, default=60)
    parser.add_argument("--top", type=int, default=0, help="top functions by own time")
    return parser.parse_args()


def setup_site(args, data_dir):
    """Environment, Django, database and data; returns (user, raw token, raw API key)."""
    from api import write_pack  # bench/api.py (this script's directory): the same pack

    sys.path.insert(0, str(ROOT))  # before bench/, whose portal.py is no `portal` package

    write_pack(data_dir / "packs", args.actions)
    os.environ.update(
        PORTAL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="portal.settings",
        ST2_PACKS_EXTRA_DIRS=str(data_dir / "packs"), ST2_SETUP_VIRTUALENVS="false",
        LOG_LEVEL="ERROR",
    )  # fmt: skip
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(data_dir / "portal.sqlite3")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from st2bridge import apikeys, auth, executions
    from st2bridge.models import Execution

    call_command("migrate", verbosity=0, interactive=False)
    call_command("register_packs", stdout=io.StringIO())
    password = secrets.token_urlsafe(16)
    user = get_user_model().objects.create_user("bench", password=password)
    _token, raw_token = auth.issue_token("bench", password, "127.0.0.1")
    caller = auth.Caller(user, "authentication token", "header")
    _key, raw_key = apikeys.create_key(caller, {})
    for _ in range(args.executions):
        executions.launch(caller, {"action": "core.noop"}, {})
    Execution.objects.update(status="succeeded", result={"succeeded": True})
    return raw_token, raw_key


def requester(path, headers):
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    route, _, query = path.partition("?")
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    answers = []

    def start_response(status, _headers, _exc_info=None):
        answers.append(status)

    def one():
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, **extra,
        }  # fmt: skip
        body = b"".join(app(environ, start_response))
        if not answers.pop().startswith("200"):
            raise SystemExit(f"GET {path}: not a 200:\n{body[:500]!r}")
        return body

    return one


def by_module(stats, requests):
    """Own time per module (Django's by sub-package), in microseconds per request."""
    totals = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        if "site-packages/" in filename:
            parts = filename.split("site-packages/")[1].split("/")
            key = "/".join(parts[:3]) if parts[0] == "django" else parts[0]
        elif filename.startswith(str(ROOT)):
            key = filename[len(str(ROOT)) + 1 :]
        elif filename == "~":
            key = "C functions (SQLite, JSON, ...)"
        else:
            key = "stdlib " + Path(filename).name
        totals[key] = totals.get(key, 0) + own
    everything = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:25]
    return [f"{own / requests * 1e6:8.0f} us {own / everything:6.1%}  {key}" for key, own in ranked]


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="st2bridge-api-profile-") as data_dir:
        raw_token, raw_key = setup_site(args, Path(data_dir))
        from django.db import connection

        headers = {"St2-Api-Key": raw_key} if args.key else {"X-Auth-Token": raw_token}
        one = requester(args.path, headers)
        body = one()
        statements = []

        def record(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            one()
        for _ in range(args.requests // 5):
            one()  # warm
        best = []
        for _ in range(args.repeat):
            started = time.process_time()
            for _ in range(args.requests):
                one()
            best.append((time.process_time() - started) / args.requests * 1e6)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            one()
        profile.disable()
        stats = pstats.Stats(profile)
        print(f"GET {args.path} by {'API key' if args.key else 'token'}: {len(body)} bytes")
        print(f"CPU per request: {min(best):.0f} us (best of {args.repeat} runs of "
              f"{args.requests}; median {sorted(best)[len(best) // 2]:.0f} us)")  # fmt: skip
        print(f"SQL statements per request: {len(statements)}")
        for sql in statements:
            print(f"  {sql[:150]}")
        print("\nown time by module under cProfile (which inflates every call alike):")
        print("\n".join(by_module(stats, args.requests)))
        if args.top:
            stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
