"""Helpers shared by the attack tests: an attack that does unbounded work must fail its test
in seconds, not hang the run."""

import contextlib
import signal

import pytest


@contextlib.contextmanager
def finishes_within(seconds):
    """Fail the test when the block is still running after `seconds`. SIGALRM interrupts the
    runaway work itself (a watching thread could not stop it), and pytest.fail raises a
    BaseException that no `except Exception` on the way swallows."""

    def expired(signum, frame):
        pytest.fail(f"still running after {seconds} s", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
