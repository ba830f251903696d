"""Faults of a real network on 127.0.0.1, no mocks: a TCP proxy that drops connections mid-transfer, and a
server that accepts connections and never answers."""

from __future__ import annotations

import contextlib
import socket
import threading

from s3_fixture import free_port


class LocalServer:
    """A TCP listener on 127.0.0.1 whose accepted connections `handle` serves, in a thread, for a `with` block."""

    def __init__(self):
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._closing = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._closing.set()
        self._thread.join(timeout=5)
        for sock in [*self._held, self._listener]:
            sock.close()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            self.handle(client)

    def handle(self, client: socket.socket) -> None:
        raise NotImplementedError


class DroppingProxy(LocalServer):
    """Forwards to `target_port`; once `cut_after` bytes went upstream, every connection is dropped."""

    def __init__(self, target_port: int, cut_after: int):
        super().__init__()
        self.target_port = target_port
        self.cut_after = cut_after
        self.sent = 0
        self.cut = threading.Event()

    def handle(self, client: socket.socket) -> None:
        if self.cut.is_set():
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, destination: socket.socket, counts: bool) -> None:
        try:
            while not self.cut.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if counts:
                    self.sent += len(data)
                    if self.sent >= self.cut_after:
                        self.cut.set()
                        break
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, destination):
                with contextlib.suppress(OSError):  # already closed by the other side
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


class SilentServer(LocalServer):
    """Accepts every connection and reads what it is sent, but never answers: a hung server or a stalled
    load balancer, which the client's timeouts alone must bound."""

    def __init__(self):
        super().__init__()
        self.connections = 0

    def handle(self, client: socket.socket) -> None:
        self.connections += 1
        self._held.append(client)
        threading.Thread(target=self._drain, args=(client,), daemon=True).start()

    @staticmethod
    def _drain(client: socket.socket) -> None:
        with contextlib.suppress(OSError):  # closed at exit
            while client.recv(65536):
                pass
