"""A loopback TCP proxy that a test can cut and restore, standing in for a network outage.

`with TcpProxy(5432) as proxy:` forwards 127.0.0.1:proxy.port to the real server.
`proxy.cut()` closes every open connection and refuses new ones (the server itself
keeps running, for everyone else); `proxy.restore()` lets connections through again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._up.set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def cut(self) -> None:
        """Drop every connection now and refuse new ones."""
        self._up.clear()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            self._open.clear()

    def restore(self) -> None:
        self._up.set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                _close(client)  # the "server" is unreachable: the connection dies at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        pairs = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in pairs:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            while not self._stopping.is_set():
                try:
                    events = selector.select(timeout=0.2)
                    if any(not self._pass(key.fileobj, pairs) for key, _mask in events):
                        break
                except (OSError, ValueError):
                    break
        with self._lock:
            for sock in pairs:
                self._open.discard(sock)
                _close(sock)

    @staticmethod
    def _pass(source: socket.socket, pairs: dict) -> bool:
        data = source.recv(65536)
        if not data:
            return False
        pairs[source].setblocking(True)
        pairs[source].sendall(data)
        pairs[source].setblocking(False)
        return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
