"""Ctrl-C as a flag: long loops stop at a safe point instead of mid-operation.

A `KeyboardInterrupt` raised at an arbitrary bytecode can land between an
optimizer update and the step counter (a checkpoint that lies), or inside a
library that swallows it. Instead, the first Ctrl-C only sets a flag that the
loop polls; a second one raises `KeyboardInterrupt` for a user who insists.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def sigint_flag() -> Iterator[Callable[[], bool]]:
    """Yields a function that tells whether Ctrl-C was pressed inside the block.

    Outside the main thread (where signals cannot be handled) the function
    always returns False and Ctrl-C keeps its default behaviour.
    """
    hits: list[int] = []

    def handler(signum, frame):
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield lambda: False
        return
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)
