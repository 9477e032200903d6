"""Helpers for the serve tests: a real `textgen serve` process and a server-sent-event reader."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    """A `textgen serve` subprocess; `url` ends without a slash."""

    proc: subprocess.Popen
    url: str
    stderr: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, then waits; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def start_server(*args: object, timeout: float = 60) -> Server:
    """Starts `textgen serve ARGS --port 0` and waits for the URL it prints."""
    cmd = [sys.executable, "-m", "textgen", "serve", *map(str, args), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", cwd=ROOT)
    lines: queue.Queue[str | None] = queue.Queue()
    server = Server(proc, "")

    def pump(stream, sink) -> None:
        for line in stream:
            sink(line)
        if stream is proc.stdout:
            lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout, lines.put), daemon=True).start()
    threading.Thread(target=pump, args=(proc.stderr, server.stderr.append), daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith("http://"):
            server.url = line.split()[0].rstrip("/")
            return server
    proc.kill()
    raise AssertionError(f"textgen serve did not start: {''.join(server.stderr)}")


def events(response: httpx.Response):
    """Yields (event name, data) of a server-sent-event response. Each event's bytes
    must be valid UTF-8 on their own: a character split across events fails here."""
    buffer = b""
    for chunk in response.iter_raw():
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            name, data = "message", ""
            for line in block.decode("utf-8", errors="strict").split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
            yield name, (data if data == "[DONE]" else json.loads(data))


def wait_for(predicate, timeout: float = 20, every: float = 0.05) -> bool:
    """Polls `predicate` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
