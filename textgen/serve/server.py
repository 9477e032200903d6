"""Running the application: a listening socket and uvicorn on it."""

from __future__ import annotations

import ipaddress
import signal
import socket

from textgen.errors import TextgenError

SHUTDOWN_GRACE_S = 3  # Ctrl-C: how long open streams get before they are cut (and cancelled)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening (port 0 = any free port).

    Raises:
        TextgenError: the address is taken, not ours, or not an address.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as e:
        raise TextgenError(f"cannot listen on {host!r}: {e}; pass an address such as "
                           "--host 127.0.0.1") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise TextgenError(f"cannot listen on {host}:{port}: {e.strerror or e}; pick another "
                           "port with --port (0 = any free one)") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The http:// address a browser on this machine would use for `sock`."""
    host, port = sock.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # all interfaces: this one
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn after its clean shutdown."""


def _stopped(signum, frame) -> None:
    raise _Stopped


def run(app, sock: socket.socket) -> None:
    """Serves `app` on `sock` until Ctrl-C (or SIGTERM); returns after a clean stop.

    On the signal every generation is cancelled, so open streams end with their
    final event; uvicorn then closes the connections (giving stragglers
    SHUTDOWN_GRACE_S) and raises the signal again, which is caught here.
    """
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            # End every generation first: open streams then finish (finish reason
            # "cancelled") instead of being cut when the grace period is over.
            app.state.pool.cancel_all()
            await super().shutdown(sockets)

    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    before = signal.signal(signal.SIGTERM, _stopped)
    try:
        Server(config).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, before)
