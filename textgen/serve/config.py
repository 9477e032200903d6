"""What a server allows and how it runs: the `textgen serve` options, declared once.

`Limits` and `ServeConfig` hold the defaults; the command line derives its
options (`--max-length`, `--workers`, ...: name, default, minimum, help) from
their fields, so a default is written only here. A field whose metadata has no
`help` is not an option.

This module imports nothing heavy: the command line reads it to build its options.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _option(default: int, low: int, help: str) -> int:
    """A field that is also a `textgen serve` option (an integer >= `low`)."""
    return field(default=default, metadata={"low": low, "help": help})


@dataclass
class Limits:
    """What one request may ask for (`textgen serve` options).

    Attributes:
        max_length: tokens per sample.
        max_n: samples per request.
        max_prompt: characters of prompt (more is 413).
        max_stops: stop strings per request.
    """

    max_length: int = _option(2000, 1, "Most tokens one sample may ask for.")
    max_n: int = _option(4, 1, "Most samples one request may ask for.")
    max_prompt: int = _option(10_000, 1, "Longest prompt, in characters (longer gets 413).")
    max_stops: int = 8


@dataclass
class ServeConfig:
    """How the server behaves (the `textgen serve` options).

    Attributes:
        limits: caps on what one request may ask.
        workers: generations per model that run at once (stepped as one batch).
        queue: requests that may wait beyond those (more get 503).
        api_key: when set, /api/* and /v1/* need `Authorization: Bearer <key>`.
        loopback_only: answer only requests addressed to this machine by name
            (Host: localhost, 127.0.0.1 or [::1]): a web page cannot reach a
            loopback server through a DNS name it controls (DNS rebinding).
    """

    limits: Limits = field(default_factory=Limits)
    workers: int = _option(32, 1, "Generations per model that run at once, stepped together "
                                  "as one batch.")
    queue: int = _option(32, 0, "Requests that may wait beyond those; more get 503 (busy).")
    api_key: str | None = None
    loopback_only: bool = True
