"""The fake HappyFox in its own process, over real HTTP, on a time-scaled clock."""

from __future__ import annotations

import sys
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from tests.fakes.fake_happyfox import FakeHappyFox


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    scale = float(sys.argv[1])
    fake = FakeHappyFox(lambda: time.monotonic() * scale)
    fake.fields = [f for f in fake.fields if f["type"] != "hologram"]
    server = make_server("127.0.0.1", 0, fake, server_class=Threaded, handler_class=Quiet)
    print(server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
