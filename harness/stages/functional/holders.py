"""Raw connections that keep uploads in progress: the body keeps coming, slowly but above the
server's minimum rate, so the server must count each as an upload in progress until it ends."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections import Counter
from types import TracebackType
from typing import Any

ANSWER_WAIT_S = 0.3  # a refusal (429) comes right away; silence means the upload runs
FIRST_BYTES = 4096  # enough of the file for a server that looks at it before deciding


class UploadHolder:
    """Opens connections one by one (``open_one``); a thread feeds every open one ``rate_bps``."""

    def __init__(self, address: tuple[str, int], head: bytes, body: bytes, rate_bps: float) -> None:
        self.address, self.head, self.body, self.rate = address, head, body, rate_bps
        self.open: list[tuple[socket.socket, list[int]]] = []  # socket, [bytes of body sent]
        self.statuses: Counter[int] = Counter()
        self.first_refusal: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed, name="upload-holder", daemon=True)

    def __enter__(self) -> UploadHolder:
        self._feeder.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._feeder.join(timeout=5)
        with self._lock:
            for sock, _ in self.open:
                sock.close()
            self.open.clear()

    def open_one(self) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(self.head + self.body[:FIRST_BYTES])
        readable, _, _ = select.select([sock], [], [], ANSWER_WAIT_S)
        if not readable:
            self.statuses[0] += 1
            with self._lock:
                self.open.append((sock, [FIRST_BYTES]))
            return
        self._answered(sock)

    def collect(self) -> None:
        """Count the answers that came later to connections still held (a refusal after more body)."""
        with self._lock:
            held = list(self.open)
        for entry in held:
            readable, _, _ = select.select([entry[0]], [], [], 0)
            if readable:
                with self._lock:
                    self.open.remove(entry)
                self.statuses[0] -= 1
                self._answered(entry[0])

    def record(self, status: int, headers: dict[str, str]) -> None:
        """Count an answer; the first that is not a 2xx is the refusal the step judges."""
        self.statuses[status] += 1
        if not self.first_refusal and not 200 <= status < 300:
            self.first_refusal = {"at": sum(self.statuses.values()), "status": status, "headers": headers}

    def _answered(self, sock: socket.socket) -> None:
        answer = _read_answer(sock)
        sock.close()
        headers = dict(re.findall(r"(?m)^([A-Za-z-]+): *(.*?)\r?$", answer[2] if answer else ""))
        self.record(int(answer[1]) if answer else -1, headers)  # -1: closed without an answer

    def _feed(self) -> None:
        step = max(1, int(self.rate / 10))
        while not self._stop.wait(0.1):
            with self._lock:
                for sock, sent in self.open:
                    piece = self.body[sent[0] % len(self.body):][:step]
                    try:
                        sock.sendall(piece)
                    except OSError:
                        continue  # the server closed it; counted when the step checks
                    sent[0] += len(piece)


def _read_answer(sock: socket.socket) -> tuple[str, str, str] | None:
    received, deadline = b"", time.monotonic() + 5
    while b"\r\n\r\n" not in received and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n", received, re.S)
    return (received.decode("latin-1"), match[1].decode(), match[2].decode("latin-1")) if match else None


__all__ = ["UploadHolder"]
