"""GET /v1/status through the control socket every 50 ms until SIGTERM, in its own process
(as azsyncctl or the TUI would be); then prints the latencies in seconds as JSON."""

from __future__ import annotations

import json
import signal
import sys
import time

import httpx


def main() -> None:
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    client = httpx.Client(transport=httpx.HTTPTransport(uds=sys.argv[1]), base_url="http://azsyncd")
    latencies = []
    print("ready", flush=True)
    while not stop:
        start = time.perf_counter()
        client.get("/v1/status").raise_for_status()
        latencies.append(time.perf_counter() - start)
        time.sleep(0.05)
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main()
