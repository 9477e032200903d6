"""Ctrl-C and SIGTERM as a flag: long loops stop at a safe point, not mid-operation.

A `KeyboardInterrupt` raised at an arbitrary bytecode can land between an
optimizer update and the step counter (a checkpoint that lies), or inside a
library that swallows it. Instead, the first Ctrl-C only sets a flag that the
loop polls; a second one raises `KeyboardInterrupt` for a user who insists.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# SIGTERM (`kill PID`, a scheduler or container stopping the job) stops as Ctrl-C does.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def sigint_flag() -> Iterator[Callable[[], bool]]:
    """Yields a function that tells whether Ctrl-C (or SIGTERM) came inside the block.

    Outside the main thread (where signals cannot be handled) the function
    always returns False and Ctrl-C keeps its default behaviour.
    """
    hits: list[int] = []

    def handler(signum, frame):
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread
        yield lambda: False
        return
    try:
        yield lambda: bool(hits)
    finally:
        for sig, old in previous.items():  # None: a handler installed from C
            signal.signal(sig, signal.SIG_DFL if old is None else old)
