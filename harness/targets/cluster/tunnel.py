"""A reverse tunnel for in-cluster Locust workers to reach the harness's master on 127.0.0.1.

Locust workers dial their master (one ZeroMQ TCP connection each, to ``--master-port``); the
harness's master listens on loopback only. So the harness dials *out*, like ``ssh -R``:

* :func:`relay` runs in a pod behind the Service ``locust-master``: it listens on ``front`` (the
  workers) and ``back`` (the harness, through ``kubectl port-forward --address 127.0.0.1``); each
  worker connection is paired with one idle back connection, which is told so by one byte
  (:data:`GO`), and the two are spliced.
* :class:`Dialer` runs in the harness: it keeps ``idle`` connections open to the back port and, on
  :data:`GO`, connects that one to the master on 127.0.0.1 and splices, then dials a replacement.

Stdlib only (asyncio): the relay ships to the pod as this one file (``python tunnel.py relay``).
Tested here with real Locust workers through a relay on 127.0.0.1; in a cluster, nightly only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading

GO = b"\x01"
CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                 b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    """Copy both ways until either side closes."""
    await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))


async def relay(front: int, back: int, host: str = "0.0.0.0", wait_s: float = 30.0) -> None:
    """Pair each connection on ``front`` with an idle one from ``back``; serve forever."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_back(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await idle.put((reader, writer))
        opened.append(writer)

    async def on_front(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                other = await asyncio.wait_for(idle.get(), wait_s)
            except TimeoutError:  # nobody on the harness side: the worker retries on its own
                writer.close()
                return
            if not other[1].is_closing():
                break
        other[1].write(GO)
        await other[1].drain()
        await splice((reader, writer), other)

    opened: list[asyncio.StreamWriter] = []
    servers = [await asyncio.start_server(on_back, host, back),
               await asyncio.start_server(on_front, host, front)]
    try:
        await asyncio.gather(*(s.serve_forever() for s in servers))
    finally:  # cancelled: nothing stays open
        for server in servers:
            server.close()
        for writer in opened:
            writer.close()


class Dialer:
    """The harness side: ``idle`` connections to the relay's back port, each spliced to the master
    (``127.0.0.1:master``) when the relay says :data:`GO`. Runs in its own thread and event loop."""

    def __init__(self, back: int, master: int, *, idle: int = 4, host: str = "127.0.0.1") -> None:
        self.back, self.master, self.idle, self.host = back, master, idle, host
        self.spliced = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="locust-tunnel", daemon=True)
        self._tasks: set[asyncio.Future[None]] = set()
        self._stopping = False

    def start(self) -> Dialer:
        self._thread.start()
        for _ in range(self.idle):
            self._spawn()
        return self

    def stop(self) -> None:
        """Cancel every connection, close them, stop the loop and its thread."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._cancel_all(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    async def _cancel_all(self) -> None:
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _later(self) -> None:
        self._loop.call_later(1.0, self._spawn)

    def _spawn(self) -> None:
        def schedule() -> None:
            if self._stopping:
                return
            task = asyncio.ensure_future(self._one(), loop=self._loop)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._loop.call_soon_threadsafe(schedule)

    async def _one(self) -> None:
        try:
            back = await asyncio.open_connection(self.host, self.back)
        except OSError:  # relay or port-forward not there (yet): try again
            self._later()
            return
        master: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            go = await back[0].read(1)
            if go != GO:  # closed before use (the relay restarted, the port-forward lost its pod)
                self._later()
                return
            self._spawn()  # keep the pool full
            master = await asyncio.open_connection("127.0.0.1", self.master)
            self.spliced += 1
            await splice(back, master)
        finally:
            for writer in (back[1], master[1] if master else None):
                if writer is not None:
                    writer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Locust master relay (runs in the cluster)")
    parser.add_argument("mode", choices=["relay"])
    parser.add_argument("--front", type=int, default=5557)
    parser.add_argument("--back", type=int, default=5600)
    parser.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args(argv)
    asyncio.run(relay(args.front, args.back, args.host))


if __name__ == "__main__":
    main()
