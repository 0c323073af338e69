"""Fixtures of the integration tests: a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[ReceivedRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    # Answers to give first, in order, whatever the path: (status, body, headers).
    answers: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        """Answer the next request not yet answered this way with `status` and `body`."""
        self.answers.append((status, body, headers))


def _lower_keys(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request, client_address):
        # The slow handler writes after the client gave up; that broken pipe is expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _QuietServer

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver = self.server.receiver
        receiver.requests.append(
            ReceivedRequest(self.command, self.path, _lower_keys(self.headers.items()), body)
        )
        if receiver.answers:
            status, reply, headers = receiver.answers.pop(0)
            self._reply(status, body=reply, **headers)
        elif self.path == "/redirect":
            self._reply(302, Location=receiver.url("/redirected"))
        elif self.path == "/slow":
            receiver.release.wait(timeout=5)
            self._reply(200)
        elif self.path == "/busy":
            self._reply(503, **{"Retry-After": "3"})
        elif self.path == "/big":
            self._reply(200, body=b"x" * 100_000)
        else:
            self._reply(204)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
