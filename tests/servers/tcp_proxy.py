"""A small misbehaving TCP proxy on loopback: forwards to a server until told to black-hole.

Black-holing stages the failure IMAP IDLE clients meet in the field (``mail-in-china.md``): the
connection stays open, no FIN, no RST, no BYE, packets just stop. The proxy keeps reading both
sides (so nothing backs up into an error) and drops what it reads.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Iterator

import pytest


class _Pair:
    """One client connection and its upstream socket."""

    def __init__(self, client: socket.socket, upstream: socket.socket, black: bool) -> None:
        self.client = client
        self.upstream = upstream
        self.black = black

    def close(self) -> None:
        for s in (self.client, self.upstream):
            try:
                s.close()
            except OSError:
                pass


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``(target_host, target_port)``, one thread for all traffic.

    ``blackhole()`` silences every open connection (and with ``new_too=True`` the ones opened
    later); ``heal()`` lets new connections through again. ``connections`` counts accepted ones.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._black_new = False
        self._closing = False
        self.connections = 0
        self.client_bytes = bytearray()  # everything clients sent, for protocol assertions
        self._cut_budget: int | None = None
        self.cuts = 0
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def blackhole(self, *, new_too: bool = False) -> None:
        """Stop forwarding on every open connection, silently (no FIN/RST is ever sent)."""
        with self._lock:
            for p in self._pairs:
                p.black = True
            self._black_new = new_too

    def cut_after(self, n_bytes: int | None) -> None:
        """Reset (RST) a connection once the server has sent it ``n_bytes`` more bytes from now:
        a link that dies in the middle of a FETCH. ``None`` disarms it."""
        with self._lock:
            self._cut_budget = n_bytes

    def heal(self) -> None:
        """Forward connections opened from now on (black-holed ones stay dead)."""
        with self._lock:
            self._black_new = False

    def close(self) -> None:
        """Stop the proxy and close every socket."""
        self._closing = True
        self._thread.join(timeout=5)
        with self._lock:
            for p in self._pairs:
                p.close()
        self._listener.close()

    def _loop(self) -> None:
        while not self._closing:
            for key, _ in self._sel.select(timeout=0.1):
                if key.data is None:
                    self._accept()
                else:
                    self._pump(key.fileobj, *key.data)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        upstream.setblocking(False)
        with self._lock:
            pair = _Pair(client, upstream, self._black_new)
            self._pairs.append(pair)
            self.connections += 1
        self._sel.register(client, selectors.EVENT_READ, (pair, upstream))
        self._sel.register(upstream, selectors.EVENT_READ, (pair, client))

    def _pump(self, src: socket.socket, pair: _Pair, dst: socket.socket) -> None:
        try:
            data = src.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if pair.black:
            if not data:
                # The peer hung up; still tell the other side nothing.
                self._sel.unregister(src)
            return
        if not data:
            self._drop(pair)
            return
        if src is pair.client:
            self.client_bytes += data
        elif self._cut_budget is not None:
            self._cut_budget -= len(data)
            if self._cut_budget <= 0:
                self._cut_budget = None
                self.cuts += 1
                for s in (pair.client, pair.upstream):  # linger 0: close with RST, not FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self._drop(pair)
                return
        try:
            dst.setblocking(True)
            dst.sendall(data)
            dst.setblocking(False)
        except OSError:
            self._drop(pair)

    def _drop(self, pair: _Pair) -> None:
        for s in (pair.client, pair.upstream):
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
        pair.close()


@pytest.fixture
def tcp_proxy_factory() -> Iterator[type[TcpProxy]]:
    """Make proxies with ``tcp_proxy_factory(host, port)``; all are closed after the test."""
    made: list[TcpProxy] = []

    class _Made(TcpProxy):
        def __init__(self, host: str, port: int) -> None:
            super().__init__(host, port)
            made.append(self)

    yield _Made
    for p in made:
        p.close()
