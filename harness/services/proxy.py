"""A TCP proxy we can switch off: an outage of the service behind it without losing its state.

The S3 emulator keeps its objects in memory, so stopping its process would be a different fault
(data loss) from the one a drill means (S3 unreachable). ``disable()`` closes the listener and
every open connection, so clients get "connection refused" exactly as from a dead server;
``enable()`` listens on the same port again.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_BUFFER = 256 * 1024


class TcpProxy:
    """Forward ``127.0.0.1:port`` to ``upstream``; can be disabled and enabled again."""

    def __init__(self, upstream: tuple[str, int], *, port: int, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._listener is not None

    def enable(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,),
                                        name=f"proxy:{self.port}", daemon=True)
        self._thread.start()

    def disable(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            _close(conn)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed by disable()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._conns.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(_BUFFER):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            with self._lock:
                done = src not in self._conns or dst not in self._conns
                self._conns.discard(src)
            if done:
                _close(src)
                _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


__all__ = ["TcpProxy"]
