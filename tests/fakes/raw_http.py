"""Misbehaving HTTP servers on 127.0.0.1, written at the socket level: answers that drip a
byte at a time, never come, or come as garbage. Each connection runs ``answer(conn)``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.helpers import within

Answer = Callable[[socket.socket], None]


def read_request(conn: socket.socket) -> bytes:
    """The request head and body (by Content-Length), or what came before the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def dripping(every: float, stopped: threading.Event) -> Answer:
    """Headers at once, then one byte of the body every ``every`` seconds, for ever."""

    def answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Content-Length: 1000000\r\n\r\n[")
        while not stopped.wait(every):
            conn.sendall(b" ")

    return answer


def tunnel(seen: list[str]) -> Answer:
    """An HTTP proxy that only tunnels (CONNECT host:port), noting each target in ``seen``."""

    def answer(conn: socket.socket) -> None:
        head = read_request(conn).split(b"\r\n")[0].decode()
        method, target, _ = head.split(" ", 2)
        seen.append(f"{method} {target}")
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

            def pipe(source: socket.socket, sink: socket.socket) -> None:
                try:
                    while data := source.recv(65536):
                        sink.sendall(data)
                except OSError:
                    pass
                finally:
                    try:
                        sink.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

            back = threading.Thread(target=pipe, args=(upstream, conn), daemon=True)
            back.start()
            pipe(conn, upstream)
            back.join(within(5))

    return answer


def fixed(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    def answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return answer


@contextmanager
def serve_raw(answer: Answer) -> Iterator[tuple[int, list[socket.socket]]]:
    """A server on 127.0.0.1; yields its port and the connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    closing = threading.Event()

    def handle(conn: socket.socket) -> None:
        try:
            answer(conn)
        except OSError:
            pass  # the client gave up: what these servers are for
        finally:
            conn.close()

    def accept() -> None:
        while not closing.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        closing.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        listener.close()
