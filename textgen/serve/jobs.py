"""Generation jobs on a bounded pool of worker threads.

Each request is a `Job`: its own recurrent state, run on one of `workers`
threads (NumPy's matrix products release the GIL). Up to `queue` more wait
for a thread; beyond that a request is refused at once (503) instead of
waiting without end. A job never waits for its client: it writes its pieces
into an in-memory queue that the HTTP side drains at the client's pace, so a
slow reader holds a connection, never a worker. Cancelling (the Stop button,
a disconnect, shutdown) ends a job before its next token.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from textgen.generate import Generation, Prime, Sample
from textgen.serve.models import Model
from textgen.serve.params import ApiError, Request

RETRY_AFTER_S = 2  # what a refused client is told to wait
MAX_BATCH = 512  # events sent in one write at most


@dataclass
class Piece:
    """Text that became final in sample `index`."""

    index: int
    text: str


@dataclass
class Done:
    """The job ended: its samples, or the error that stopped it."""

    samples: list[Sample]
    error: BaseException | None = None


class Job:
    """One request's generation. Iterate `events()` (async) for `Piece`s, then a `Done`.

    Attributes:
        id: what `POST /api/cancel` names it by (random, unguessable).
        model: the model it runs.
        request: what was asked.
        prime: the encoded prompt.
        seed: the seed of sample 0 (drawn here when the request had none).
    """

    def __init__(self, model: Model, request: Request, prime: Prime,
                 loop: asyncio.AbstractEventLoop):
        self.id = secrets.token_urlsafe(12)
        self.model, self.request, self.prime = model, request, prime
        self.seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        self._loop = loop
        self._queue: asyncio.Queue[Piece | Done] = asyncio.Queue()
        self._cancelled = False
        self._generation: Generation | None = None

    def cancel(self) -> None:
        """Ends the job before its next token (or before it starts); safe from any thread."""
        self._cancelled = True
        gen = self._generation
        if gen is not None:
            gen.cancel()

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called."""
        return self._cancelled

    def run(self) -> None:
        """Generates on a worker thread, posting events to the event loop."""
        if self._cancelled:
            self._post(Done([Sample("", self.prime.text, self.seed + i, "cancelled", 0)
                             for i in range(self.request.n)]))
            return
        r = self.request
        try:
            gen = self.model.generator.run(self.prime, r.length, r.settings, r.n, self.seed,
                                           r.stop)
            self._generation = gen
            if self._cancelled:
                gen.cancel()
            for index, text in gen:
                self._post(Piece(index, text))
            self._post(Done(gen.samples))
        except BaseException as e:  # reported to the client; the worker lives on
            self._post(Done([], e))

    def _post(self, event: Piece | Done) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:  # the event loop is closed: the server is gone
            self.cancel()

    async def next_events(self, timeout: float | None = None) -> list[Piece | Done]:
        """The events that are ready (at least one), or [] when `timeout` seconds pass
        without one. Taking them all at once sends them in one write, and the sleep(0)
        lets the event loop notice a client that went away."""
        await asyncio.sleep(0)
        try:
            ready = [await asyncio.wait_for(self._queue.get(), timeout)]
        except TimeoutError:
            return []
        while not self._queue.empty() and len(ready) < MAX_BATCH:
            ready.append(self._queue.get_nowait())
        return ready


class Pool:
    """A fixed number of worker threads with a bounded waiting line.

    Args:
        workers: jobs that generate at once.
        queue: jobs that may wait for a worker; more are refused with 503.
    """

    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="textgen-serve")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def submit(self, model: Model, request: Request, prime: Prime) -> Job:
        """Starts a job, or refuses it when every worker is busy and the line is full.

        Must be called from the event loop's thread.

        Raises:
            ApiError: 503 with Retry-After.
        """
        job = Job(model, request, prime, asyncio.get_running_loop())
        with self._lock:
            if len(self._jobs) >= self.workers + self.queue:
                raise ApiError(
                    503, f"the server is busy: {self.workers} generating and {self.queue} "
                    f"waiting; retry in {RETRY_AFTER_S} s", headers={"Retry-After":
                                                                      str(RETRY_AFTER_S)})
            self._jobs[job.id] = job
        self._executor.submit(job.run).add_done_callback(lambda _: self._forget(job.id))
        return job

    def get(self, job_id: str) -> Job | None:
        """The running or waiting job with this id."""
        with self._lock:
            return self._jobs.get(job_id)

    def stats(self) -> dict[str, Any]:
        """Workers, queue size and jobs now in the pool."""
        with self._lock:
            return {"workers": self.workers, "queue": self.queue, "jobs": len(self._jobs)}

    def cancel_all(self) -> None:
        """Cancels every running or waiting job."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()

    def shutdown(self) -> None:
        """Cancels every job and waits for the workers to finish."""
        self.cancel_all()
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)
