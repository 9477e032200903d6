"""Generation jobs on a bounded pool of worker threads.

Each request is a `Job`: its own recurrent state, run on one of `workers`
threads (NumPy's matrix products release the GIL). A request holds a slot from
before its prompt is read until its answer is sent; there are `workers +
queue` slots, and a request that finds none is refused at once (503) instead
of waiting without end. A job never waits for its client: it writes its pieces
into an in-memory queue (at most `--max-length` tokens per sample) that the
HTTP side drains at the client's pace, so a slow reader holds a slot and its
memory, never a worker. Cancelling (the Stop button, a disconnect, shutdown)
ends a job before its next token.
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
    """One request's generation. `next_events()` gives its `Piece`s, then a `Done`.

    Attributes:
        id: what `POST /api/cancel` names it by (random, unguessable).
        model: the model it runs.
        request: what was asked.
        prime: the encoded prompt (set before the job starts).
        seed: the seed of sample 0 (drawn here when the request had none).
        generating: the job is waiting for or running on a worker.
    """

    def __init__(self, model: Model, request: Request, loop: asyncio.AbstractEventLoop):
        self.id = secrets.token_urlsafe(12)
        self.model, self.request = model, request
        self.prime: Prime | None = None
        self.seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        self.generating = False
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
        try:
            self._run()
        finally:
            self.generating = False

    def _run(self) -> None:
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

    def open(self, model: Model, request: Request) -> Job:
        """Takes a slot for a request, or refuses it when all are taken.

        Must be called from the event loop's thread; `close` gives the slot back.

        Raises:
            ApiError: 503 with Retry-After.
        """
        job = Job(model, request, asyncio.get_running_loop())
        with self._lock:
            if len(self._jobs) >= self.workers + self.queue:
                raise ApiError(
                    503, f"the server is busy: {self.workers} generating and {self.queue} "
                    f"waiting; retry in {RETRY_AFTER_S} s",
                    headers={"Retry-After": str(RETRY_AFTER_S)})
            self._jobs[job.id] = job
        return job

    def start(self, job: Job, prime: Prime) -> None:
        """Queues an open job for a worker."""
        job.prime, job.generating = prime, True
        self._executor.submit(job.run)

    def close(self, job: Job) -> None:
        """Gives the job's slot back (its answer is sent, or will never be); cancels it."""
        job.cancel()
        with self._lock:
            self._jobs.pop(job.id, None)

    def get(self, job_id: str) -> Job | None:
        """The running or waiting job with this id."""
        with self._lock:
            return self._jobs.get(job_id)

    def stats(self) -> dict[str, Any]:
        """Workers, queue size, requests holding a slot and jobs generating."""
        with self._lock:
            jobs = list(self._jobs.values())
        return {"workers": self.workers, "queue": self.queue, "requests": len(jobs),
                "generating": sum(j.generating for j in jobs)}

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
