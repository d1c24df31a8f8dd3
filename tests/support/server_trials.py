"""A real `kofu serve` in a child process on loopback, and raw HTTP against it.

Shared by tests/trials/test_trust2_server.py and scripts/bench_http.py. Bodies are sent
from a generator of 64 KiB blocks over a non-blocking socket: the sender never holds
a whole body, and stops as soon as the server answers.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

SERVE = "from adapters.cli.main import main; main()"
BLOCK = 65_536
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    port: int
    pid: int

    def rss(self) -> int:
        """The server process's resident memory (bytes), from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        msg = "no VmRSS"
        raise RuntimeError(msg)


@contextmanager
def serving(url: str, log: Path, **limits: str) -> Iterator[Server]:
    """`kofu serve` on a free loopback port with these KOFU_* limits."""
    port = free_port()
    env = os.environ | {"KOFU_DATABASE_URL": url} | limits
    with log.open("wb") as errors:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVE,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/login", timeout=2)
                    break
                except httpx.TransportError:
                    if child.poll() is not None:
                        raise RuntimeError(log.read_text()) from None
                    time.sleep(0.1)
            yield Server(base, port, child.pid)
        finally:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=30)


@dataclass
class Answer:
    status: int
    body: dict[str, object]
    sent: int  # body bytes handed to the socket before the answer came


def _blocks(total: int, *, chunked: bool) -> Iterator[bytes]:
    block = b"x" * BLOCK
    left = total
    while left > 0:
        n = min(BLOCK, left)
        left -= n
        yield (f"{n:x}\r\n".encode() + block[:n] + b"\r\n") if chunked else block[:n]
    if chunked:
        yield b"0\r\n\r\n"


def send_body(
    port: int,
    path: str,
    total: int,
    *,
    token: str | None = None,
    chunked: bool = False,
    timeout: float = 120,
) -> Answer:
    """POST a `total`-byte body, stopping as soon as the server answers."""
    head = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
    ]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    if token:
        head.append(f"Authorization: Bearer {token}")
    pending = ("\r\n".join(head) + "\r\n\r\n").encode()
    blocks = _blocks(total, chunked=chunked)
    sent = 0
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(0)
        writing = True
        while b"\r\n\r\n" not in received:
            ready, writable, _ = select.select(
                [sock], [sock] if writing else [], [], timeout
            )
            if not ready and not writable:
                msg = f"no answer in {timeout} s"
                raise TimeoutError(msg)
            if ready:
                data = sock.recv(BLOCK)
                if not data:
                    break
                received += data
                continue
            if not pending:
                pending = next(blocks, b"")
                sent += len(pending)
                if not pending:
                    writing = False
                    continue
            try:
                pending = pending[sock.send(pending) :]
            except (BlockingIOError, InterruptedError):
                pass
            except (BrokenPipeError, ConnectionResetError):
                writing = False
        sock.settimeout(timeout)
        header, _, rest = received.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            data = sock.recv(BLOCK)
            if not data:
                break
            rest += data
    status = int(header.split(b" ", 2)[1])
    body = orjson.loads(rest[:length]) if length else {}
    return Answer(status, body, sent)


def half_open(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send part of a request's headers, never the end."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closed this connection within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
