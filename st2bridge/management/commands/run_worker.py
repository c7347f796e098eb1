"""Run the execution worker until SIGTERM or Ctrl-C."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from st2bridge.runners import sandbox
from st2bridge.worker import POLL_INTERVAL, Worker


class Command(BaseCommand):
    help = "Claim requested executions and run them (several workers may run at once)."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=settings.ST2_WORKER_CONCURRENCY)
        parser.add_argument("--poll-interval", type=float, default=POLL_INTERVAL)

    def handle(self, *args, concurrency, poll_interval, **options):
        sandbox.protect_database()  # 0600: `migrate` created it with SQLite's default 0644
        worker = Worker(concurrency=concurrency, poll_interval=poll_interval)
        signal.signal(signal.SIGTERM, worker.stop)
        signal.signal(signal.SIGINT, worker.stop)
        worker.run()
