"""Open idle event streams against a live site: what they cost the API, memory and CPU.

    .venv/bin/python bench/streams.py [--streams 1000] [--rounds 3]
    DATABASE_URL=postgres://... .venv/bin/python bench/streams.py

A throwaway site as `make run` serves it (tests/live_site.py: gunicorn with uvicorn's worker,
--web processes, a worker; SQLite in a temporary directory unless DATABASE_URL is set), with
ST2_STREAMS_PER_USER and ST2_STREAMS_PER_PROCESS raised to --streams. Each of --rounds rounds:

  none     --samples sequential authenticated GET /api/v1/user: p50 (the baseline)
  open     --streams GET /stream/v1/stream (the administrator's, so every event goes to every
           stream), each on its own connection, kept open after its first bare newline
  with     the same GETs again with the streams open: p50, and the ratio to the baseline
  idle     the web processes' CPU over --idle-seconds with the streams open, and their RSS
           growth over the round's open streams (memory per stream), and their thread count
  event    one execution launched: the time until its st2.execution__create event reached
           every open stream
  close    every stream closed at once: the time until a new stream and a GET are served

Then the serving itself: GET /api/v1/user from --load-connections connections for
--load-seconds (wrk when installed, else Python threads), under `make run`'s server (the same
site) and under gunicorn's gthread worker with the same processes and threads (the server
before issue 16; a second site, up at the same time), in turn, --rounds times.

Target (issue 16): GET /api/v1/user p50 with --streams open within 2x of none (the median of
the rounds' ratios); and the API's rate under the new server no worse than under gthread. The
figures are appended to bench/RESULTS.md (--no-results: not).
"""

import argparse
import contextlib
import json
import os
import re
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from executions import append_results as append_results_section  # bench/executions.py
from executions import cpu_model, database_label, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live_site import LiveSite  # noqa: E402 - after the path is set

TARGET_RATIO = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000, help="open idle streams")
    parser.add_argument("--samples", type=int, default=200, help="sequential GETs per p50")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement")
    parser.add_argument("--web", type=int, default=2, help="web processes (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=16, help="threads each (WEB_THREADS)")
    parser.add_argument("--idle-seconds", type=float, default=5, help="CPU sampled this long")
    parser.add_argument("--load-seconds", type=float, default=10, help="each rate run")
    parser.add_argument("--load-connections", type=int, default=16, help="for the rate runs")
    parser.add_argument("--no-gthread", action="store_true", help="skip the gthread server")
    parser.add_argument(
        "--no-results", action="store_true", help="do not append to bench/RESULTS.md"
    )
    return parser.parse_args()


class GthreadSite(LiveSite):
    """The same site under gunicorn's gthread worker serving portal.wsgi (before issue 16)."""

    def __init__(self, threads, **settings):
        super().__init__(**settings)
        self.threads = threads

    def web_command(self):
        return [
            *super().web_command(),
            *("--worker-class", "gthread", "--threads", str(self.threads), "portal.wsgi"),
        ]


def site_settings(args):
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "WEB_CONCURRENCY": str(args.web),
        "WEB_THREADS": str(args.threads),
        "ST2_STREAMS_PER_USER": str(args.streams),
        "ST2_STREAMS_PER_PROCESS": str(args.streams),
    }


# --- the web processes, from /proc ----------------------------------------------------------


def proc_stat(pid):
    """(CPU seconds, RSS in KB, threads) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    return cpu, int(fields[21]) * PAGE_KB, int(fields[17])  # rss pages, num_threads


def web_totals(site):
    stats = [proc_stat(pid) for pid in site.web_processes()]
    return tuple(sum(values) for values in zip(*stats, strict=True))


# --- clients --------------------------------------------------------------------------------


def get_p50_ms(session, url, samples):
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return percentile(times, 0.5)


class RawStream:
    """A /stream/v1/stream request on a plain socket, kept open: a thousand of them cost the
    client no thread."""

    def __init__(self, site, token):
        self.sock = socket.create_connection(("127.0.0.1", site.port), timeout=30)
        request = (
            f"GET /stream/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
            f"X-Auth-Token: {token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.received = b""
        while b"\r\n\r\n" not in self.received:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed a stream before answering")
            self.received += chunk
        status = self.received.split(b"\r\n", 1)[0]
        if b" 200 " not in status:
            raise RuntimeError(f"a stream was refused: {self.received[:300]!r}")

    def read_available(self):
        self.received += self.sock.recv(65536)

    def close(self):
        self.sock.close()


def time_event_to_all(session, url, streams, timeout=60):
    """Seconds from launching one execution until its create event reached every stream."""
    started = time.monotonic()
    launched = session.post(
        f"{url}/api/v1/executions",
        json={"action": "core.noop", "parameters": {}},
        timeout=30,
    )
    assert launched.status_code == 201, launched.text
    marker = f'"id":"{launched.json()["id"]}"'.encode()
    waiting = selectors.DefaultSelector()  # epoll: select() stops at descriptor 1023
    for stream in streams:
        waiting.register(stream.sock, selectors.EVENT_READ, stream)
    while waiting.get_map() and time.monotonic() - started < timeout:
        for key, _ in waiting.select(timeout=1):
            stream = key.data
            stream.read_available()
            if b"event: st2.execution__create" in stream.received and marker in stream.received:
                waiting.unregister(stream.sock)
    reached = len(streams) - len(waiting.get_map())
    waiting.close()
    return time.monotonic() - started, reached


def rate(url, token, seconds, connections):
    """Requests per second of GET /api/v1/user, and the tool that measured it."""
    if shutil.which("wrk"):
        done = subprocess.run(  # noqa: S603 - fixed argv
            [
                *("wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s"),
                *("-H", f"X-Auth-Token: {token}", f"{url}/api/v1/user"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        if "Non-2xx" in done.stdout:
            raise RuntimeError(f"wrk met errors:\n{done.stdout}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1)), "wrk"
    counts = []
    deadline = time.monotonic() + seconds

    def client():
        session, count = requests.Session(), 0
        session.headers["X-Auth-Token"] = token
        while time.monotonic() < deadline:
            assert session.get(f"{url}/api/v1/user", timeout=30).status_code == 200
            count += 1
        counts.append(count)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds, "python threads"


# --- the measurements -----------------------------------------------------------------------


def stream_round(args, site, session, token):
    whoami = f"{site.url}/api/v1/user"
    get_p50_ms(session, whoami, 10)  # warm up
    figures = {"none_ms": get_p50_ms(session, whoami, args.samples)}
    _, rss_before, threads_before = web_totals(site)
    started = time.monotonic()
    streams = [RawStream(site, token) for _ in range(args.streams)]
    figures["open_s"] = time.monotonic() - started
    try:
        time.sleep(1)  # let the last ones settle
        figures["with_ms"] = get_p50_ms(session, whoami, args.samples)
        cpu_before, rss_after, threads_after = web_totals(site)
        time.sleep(args.idle_seconds)
        cpu_after, _, _ = web_totals(site)
        figures["idle_cpu"] = (cpu_after - cpu_before) / args.idle_seconds
        figures["kb_per_stream"] = (rss_after - rss_before) / args.streams
        figures["threads"] = (threads_before, threads_after)
        figures["event_s"], figures["event_reached"] = time_event_to_all(session, site.url, streams)
    finally:
        closed_at = time.monotonic()
        for stream in streams:
            stream.close()
    again = RawStream(site, token)  # the slots: all back, or this one would be refused
    again.close()
    get_p50_ms(session, whoami, 1)
    figures["after_close_s"] = time.monotonic() - closed_at
    return figures


def measure(args):
    """The stream rounds, then the rate rounds: this site and the gthread one, both up, in
    turn (so that neighbours' load falls on both alike)."""
    rounds, rates, tool = [], {"uvicorn-worker": []}, None
    with LiveSite(**site_settings(args)) as site:
        token = site.token()
        session = requests.Session()
        session.headers["X-Auth-Token"] = token
        for number in range(1, args.rounds + 1):
            figures = stream_round(args, site, session, token)
            rounds.append(figures)
            print(round_line(args, number, figures), flush=True)
        servers = [("uvicorn-worker", site, token)]
        with contextlib.ExitStack() as stack:
            if not args.no_gthread:
                old = stack.enter_context(GthreadSite(args.threads, **site_settings(args)))
                servers.append(("gthread", old, old.token()))
                rates["gthread"] = []
            for _name, server, key in servers:  # warm up
                rate(server.url, key, min(2, args.load_seconds), args.load_connections)
            for number in range(1, args.rounds + 1):
                for name, server, key in servers:
                    measured, tool = rate(server.url, key, args.load_seconds, args.load_connections)
                    rates[name].append(measured)
                    print(f"rate round {number}: {name:<15} {measured:8.0f} GET /api/v1/user per s")
    return rounds, rates, tool


# --- report ---------------------------------------------------------------------------------


def round_line(args, number, figures):
    return (
        f"round {number}: GET /api/v1/user p50 {figures['none_ms']:.2f} ms with no stream, "
        f"{figures['with_ms']:.2f} ms with {args.streams} open "
        f"({figures['with_ms'] / figures['none_ms']:.2f}x); opened in {figures['open_s']:.1f} s"
    )


def report(args, rounds, rates, tool):
    ratios = [figures["with_ms"] / figures["none_ms"] for figures in rounds]
    median = statistics.median
    event_s = median(figures["event_s"] for figures in rounds)
    reached = min(figures["event_reached"] for figures in rounds)
    threads = rounds[-1]["threads"]
    lines = [
        f"machine:  {os.cpu_count()} cores ({cpu_model()}), Python {sys.version.split()[0]}",
        f"database: {database_label()}",
        f"site:     gunicorn with uvicorn's worker (portal.asgi), {args.web} processes x "
        f"{args.threads} threads, one worker; {args.streams} streams, {args.rounds} rounds",
        "",
        *(round_line(args, n, figures) for n, figures in enumerate(rounds, 1)),
        "",
        f"memory per stream: {rounds[0]['kb_per_stream']:.1f} KB (RSS growth of the web "
        "processes / open streams, first round; later rounds reuse that memory: "
        + ", ".join(f"{f['kb_per_stream']:.1f}" for f in rounds[1:])
        + ")",
        f"web threads: {threads[0]} before the streams, {threads[1]} with {args.streams} open",
        f"idle CPU with {args.streams} open: "
        f"{median(f['idle_cpu'] for f in rounds) * 100:.1f} % of a core (web processes)",
        f"one event to every stream: {reached} of {args.streams} reached in {event_s:.2f} s",
        "all closed: a new stream and a GET served "
        f"{median(f['after_close_s'] for f in rounds):.2f} s after closing",
    ]
    if rates:
        lines.append("")
        for name, values in rates.items():
            shown = ", ".join(f"{value:.0f}" for value in values)
            lines.append(
                f"rate {name:<15} {median(values):6.0f} GET /api/v1/user per s "
                f"(median; rounds: {shown}; {tool}, {args.load_connections} connections)"
            )
    lines.append("")
    ratio = median(ratios)
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    lines.append(
        f"targets:  p50 with {args.streams} open streams within {TARGET_RATIO:g}x of none "
        f"{met} (median ratio {ratio:.2f}x)"
    )
    if "gthread" in rates:
        new, old = median(rates["uvicorn-worker"]), median(rates["gthread"])
        met = "met" if new >= old else "NOT met"
        lines.append(
            f"          API rate no worse than gthread {met} ({new / old:.2f}x of gthread's)"
        )
    return lines


def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * args.streams + 256:  # this client's sockets, and the servers' (inherited)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * args.streams + 256), hard))
    rounds, rates, tool = measure(args)
    lines = report(args, rounds, rates, tool)
    print("\n" + "\n".join(lines))
    if not args.no_results:
        append_results_section(
            "bench/streams.py — open idle event streams",
            f"Command: `.venv/bin/python bench/streams.py` ({json.dumps(vars(args))}).",
            lines,
        )


if __name__ == "__main__":
    main()
