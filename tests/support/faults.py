"""Faults one level below the port, for stores that talk over TCP: OpenSearch's.

Faults at the port (``FaultyStore``, ``PortFaults``) ship with the store
contract in ``dynafold.testing.store_contract``. ``ResettingProxy`` is the same idea
one level down: a proxy in front of the real server whose connections can
be reset before the request reaches the server, or after the server
answered (the answer is lost). ``NetworkFaults`` is the contract's fault
hook for OpenSearch: 429s from a real index block, resets from the proxy.
"""

from __future__ import annotations

import random
import select
import socket
import struct
import threading
from typing import Callable, Optional
from urllib.parse import urlsplit

import pytest

from dynafold.projector.stores.base import DocumentStore
from dynafold.testing.store_contract.documents import V1
from dynafold.testing.store_contract.faults import FaultyStore


class NetworkFaults:
    """Faults of OpenSearch: 429s from a real index block, resets from a real TCP proxy.

    ``url`` is the store's ``opensearch+http(s)://`` URL, ``admin`` a client of
    it (it sets the block), ``open_store`` opens (and closes when the test
    ends) a client at another URL, ``closers`` gets the proxy's close.
    """

    def __init__(self, url: str, admin, open_store: Callable[[str], DocumentStore], rng: random.Random,
                 closers: list[Callable[[], None]]) -> None:
        self.admin = admin
        parts = urlsplit(url.replace("opensearch+", ""))
        if "aws_region=" in parts.query:
            pytest.skip("SigV4 signs the host name, so requests cannot go through a local fault proxy")
        self.proxy = ResettingProxy((parts.hostname, parts.port or (443 if parts.scheme == "https" else 9200)))
        closers.append(self.proxy.close)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        proxied = f"{parts.scheme}://{userinfo}127.0.0.1:{self.proxy.port}?{parts.query}"
        if parts.scheme == "https":  # the certificate names the cluster, not the local proxy
            proxied += "&verify_certs=false"
        self._plan: Optional[tuple[str, Optional[int]]] = None
        self.store = FaultyStore(open_store("opensearch+" + proxied), rng, on_write=self._on_write)

    def _on_write(self, writes) -> None:
        if self._plan is not None:
            mode, times = self._plan
            self.proxy.arm(mode, times)
            if times is not None:
                self._plan = None

    def storm(self, on: bool) -> None:
        self.admin.client.indices.put_settings(
            index=self.admin.prefix + V1, body={"index.blocks.read_only_allow_delete": True if on else None}
        )

    def cut_writes(self) -> None:
        self._plan = ("reset", None)

    def lose_write_answers(self, times: Optional[int] = None) -> None:
        self._plan = ("lose", times)

    def heal(self) -> None:
        self._plan = None
        self.proxy.arm("pass")


class ResettingProxy:
    """A TCP proxy to ``upstream`` (host, port) that can break connections on demand.

    Each request (also the next one on a kept-alive connection) takes the
    mode armed when it starts: ``"pass"`` forwards; ``"reset"`` resets the
    connection before anything reaches the server; ``"lose"`` forwards the
    request and resets the connection as soon as the server starts
    answering, so the request took effect and its answer is lost.
    ``arm(mode, times)`` applies a mode to the next ``times`` requests
    (``None``: until re-armed), then goes back to ``"pass"``. A request is
    recognised as the first bytes from the client after an answer, which
    holds for HTTP/1.1 without pipelining.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._mode = "pass"
        self._times: Optional[int] = None
        self.broken = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, mode: str, times: Optional[int] = None) -> None:
        if mode not in ("pass", "reset", "lose"):
            raise ValueError(f"unknown proxy mode {mode!r}")
        with self._lock:
            self._mode, self._times = mode, times

    def _next_mode(self) -> str:
        with self._lock:
            mode = self._mode
            if mode != "pass" and self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = "pass", None
            return mode

    def _count_break(self) -> None:
        with self._lock:
            self.broken += 1

    def close(self) -> None:
        """Stop accepting connections (open ones end when either side closes)."""
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """Forward one connection; each request on it (keep-alive) takes the mode armed when it starts."""
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            _reset(client)
            return
        open_ends = [client, server]
        mode, between_requests = "pass", True
        try:
            while open_ends:
                readable, _, _ = select.select(open_ends, [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if sock is server:
                        if not data:
                            return
                        if mode == "lose":
                            self._count_break()
                            _reset(client)
                            return
                        client.sendall(data)
                        between_requests = True
                    elif data:
                        if between_requests:
                            mode, between_requests = self._next_mode(), False
                            if mode == "reset":
                                self._count_break()
                                _reset(client)
                                return
                        server.sendall(data)
                    else:
                        server.shutdown(socket.SHUT_WR)
                        open_ends.remove(client)
        except OSError:
            pass
        finally:
            server.close()
            client.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees 'connection reset'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
