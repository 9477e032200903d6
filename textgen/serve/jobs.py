"""Generation jobs, stepped together per model, with a bounded waiting line.

Each request is a `Job` with its own recurrent state, samplers and seeds. The
jobs running on one model are stepped as one batch by that model's `Batcher`
thread: each job draws its next tokens, then a single `net.step` reads all of
them (a matrix-matrix product costs little more than one row's
matrix-vector product, so throughput grows with the number of clients). A
prompt is encoded and read on a worker thread (`Job.prepare`), never on the
batcher's, so a 10,000-character prompt does not stall the running streams. Up to
`workers` jobs per model run at once; a request holds a slot from before its
prompt is read until its answer is sent; there are `workers + queue` slots, and
a request that finds none is refused at once (503) instead of waiting without
end. A job never waits for its client: it writes its pieces into an in-memory
queue (at most `--max-length` tokens per sample) that the HTTP side drains at
the client's pace, so a slow reader holds a slot and its memory, never the
batch. Cancelling (the Stop button, a disconnect, shutdown) ends a job before
its next token.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgen.errors import TextgenError
from textgen.generate.generation import Generation, Prime, Sample
from textgen.generate.poetry.poem import poem_of
from textgen.model.numpy_lm import State
from textgen.serve.models import Model
from textgen.serve.params import ApiError, Request, in_api_words

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
        prime: the encoded prompt (set by `prepare`).
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
        self._lock = threading.Lock()
        self._pending: list[Piece | Done] = []  # posted, not yet in the queue
        self._scheduled = False  # a _flush is on its way to the event loop
        self._cancelled = False
        self._generation: Generation | None = None  # once it runs
        self._prepared: Generation | None = None  # its prompt read, waiting to run

    def cancel(self) -> None:
        """Ends the job before its next token (or before it starts); safe from any thread."""
        self._cancelled = True
        gen = self._generation
        if gen is not None:
            gen.cancel()

    def prepare(self) -> None:
        """Encodes and reads the prompt. Runs on a worker thread: neither the event
        loop nor the model's batcher (stepping the other streams) waits for it.

        Raises:
            ApiError: 400 for a prompt the model cannot read (characters it never
                saw, without `drop_unknown`).
        """
        self.prime = encode_prompt(self.model, self.request)
        r = self.request
        try:
            self._prepared = self.model.generator.run(self.prime, r.length, r.settings, r.n,
                                                      self.seed, r.stop, max_lines=r.max_lines,
                                                      **r.poem)
        except TextgenError as e:  # e.g. a poem this model cannot write
            raise ApiError(400, *in_api_words(str(e), r)) from None

    def poem_reports(self, samples: list[Sample]) -> list[dict[str, Any]] | None:
        """Per sample, its poem's constraints, checks and what was relaxed; None
        when the request asked for no poem."""
        poem = poem_of(self._prepared.constraints) if self._prepared else None
        if poem is None:
            return None
        return [poem.report(i, s.prime + s.text) for i, s in enumerate(samples)]

    def begin(self) -> Generation | None:
        """Joins the batch (on the batcher's thread) with the generation `prepare`
        made; None when the job is already over (cancelled while waiting: its `Done`
        is posted)."""
        gen = self._prepared
        assert gen is not None, "Job.prepare runs (and succeeds) before Job.begin"
        if self._cancelled:
            self.finish(Done([Sample("", self.prime.text, self.seed + i, "cancelled", 0)
                              for i in range(self.request.n)]))
            return None
        self._generation = gen
        if self._cancelled:
            gen.cancel()
        return gen

    def emit(self, pieces: list[tuple[int, str]]) -> None:
        """Posts pieces of text that became final."""
        for index, text in pieces:
            self._post(Piece(index, text))

    def finish(self, done: Done) -> None:
        """Posts the end of the job."""
        self.generating = False
        self._post(done)

    def _post(self, event: Piece | Done) -> None:
        # Events wait in a list; the event loop is woken once per batch of them,
        # not once per piece (a wake-up costs more than a token).
        with self._lock:
            self._pending.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._flush)
        except RuntimeError:  # the event loop is closed: the server is gone
            self.cancel()

    def _flush(self) -> None:
        """Moves the posted events into the queue (on the event loop)."""
        with self._lock:
            events, self._pending, self._scheduled = self._pending, [], False
        for event in events:
            self._queue.put_nowait(event)

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


class Batcher:
    """Runs the jobs of one model, stepping up to `max_jobs` of them as one batch.

    Every step, each running job draws its next tokens with its own sampler and
    random generators (`Generation.pick`), then one `net.step` reads the tokens
    of all of them, and each job takes back its rows (`Generation.absorb`). A
    job's text is the same as if it ran alone (up to float rounding: BLAS sums
    a batch's products in another order than one row's). Waiting jobs join
    between steps, first come first served.
    """

    def __init__(self, model: Model, max_jobs: int):
        self.model, self.max_jobs = model, max_jobs
        self._waiting: deque[Job] = deque()
        self._cv = threading.Condition()
        self._stopping = False
        self.largest_batch = 0  # the most jobs stepped together so far (for /healthz)
        self._thread = threading.Thread(target=self._loop, name=f"textgen-serve-{model.name}",
                                        daemon=True)
        self._thread.start()

    def add(self, job: Job) -> None:
        """Queues a job (its prompt read) to join the batch."""
        with self._cv:
            self._waiting.append(job)
            self._cv.notify()

    def close(self) -> None:
        """Stops the thread once the jobs it holds have ended (cancel them first)."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join()

    def _loop(self) -> None:
        running: list[tuple[Job, Generation]] = []
        while True:
            with self._cv:
                while not self._waiting and not running and not self._stopping:
                    self._cv.wait()
                if self._stopping and not self._waiting and not running:
                    return
                joining = [self._waiting.popleft()
                           for _ in range(min(len(self._waiting), self.max_jobs - len(running)))]
            for job in joining:
                gen = job.begin()  # its prompt was read on a worker thread
                if gen is not None:
                    running.append((job, gen))
            running = self._step(running)

    def _step(self, running: list[tuple[Job, Generation]]) -> list[tuple[Job, Generation]]:
        """Draws one token for every job, then reads them all in one `net.step`."""
        stepping, ids = [], []
        for job, gen in running:
            try:
                picked, pieces = gen.pick()
            except BaseException as e:
                job.finish(Done([], e))
                continue
            job.emit(pieces)
            if picked is None:
                job.finish(Done(gen.samples))
            else:
                stepping.append((job, gen))
                ids.append(picked)
        if not stepping:
            return []
        net = self.model.generator.net
        self.largest_batch = max(self.largest_batch, len(stepping))
        try:
            if len(stepping) == 1:  # alone: no copying in and out of a batch
                stepping[0][1].absorb(*net.step(ids[0], stepping[0][1].state))
                return stepping
            logits, state = net.step(np.concatenate(ids),
                                     State.concat([gen.state for _, gen in stepping]))
        except BaseException as e:  # a bug: every job in the batch reports it
            for job, _ in stepping:
                job.finish(Done([], e))
            return []
        sizes = [len(i) for i in ids]
        for (_, gen), rows, part in zip(stepping, np.split(logits, np.cumsum(sizes)[:-1]),
                                        state.split(sizes), strict=True):
            gen.absorb(rows, part)
        return stepping


class Pool:
    """The slots (running and waiting requests) and a `Batcher` per model.

    Args:
        workers: jobs per model that generate at once (stepped together).
        queue: requests that may wait beyond those; more are refused with 503.
    """

    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        self._batchers: dict[str, Batcher] = {}
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

    def start(self, job: Job) -> None:
        """Queues an open, prepared job on its model's batcher."""
        job.generating = True
        with self._lock:
            batcher = self._batchers.get(job.model.name)
            if batcher is None:
                batcher = self._batchers[job.model.name] = Batcher(job.model, self.workers)
        batcher.add(job)

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
            batchers = list(self._batchers.values())
        return {"workers": self.workers, "queue": self.queue, "requests": len(jobs),
                "generating": sum(j.generating for j in jobs),
                "largest_batch": max((b.largest_batch for b in batchers), default=0)}

    def cancel_all(self) -> None:
        """Cancels every running or waiting job."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()

    def shutdown(self) -> None:
        """Cancels every job and waits for the workers to finish."""
        self.cancel_all()
        with self._lock:
            batchers = list(self._batchers.values())
        for batcher in batchers:
            batcher.close()


def encode_prompt(model: Model, req: Request) -> Prime:
    """Encodes a request's prompt for `model` (a word model segments it with jieba).

    Raises:
        ApiError: 400 when the prompt is not valid text, or has characters the model
            never saw and the request did not ask to drop them.
    """
    try:
        prime = model.generator.encode_prime(req.prompt, drop_unknown=True)
    except TextgenError as e:
        raise ApiError(400, f"`prompt`: {e}", "prompt") from None
    if prime.dropped and not req.drop_unknown:
        shown = " ".join(repr(t) for t in prime.dropped[:20])
        raise ApiError(400, f"the prompt has {len(prime.dropped)} character(s) model "
                       f"{model.name!r} never saw: {shown}; rephrase it, or send "
                       '"drop_unknown": true to leave them out', "prompt")
    return prime
