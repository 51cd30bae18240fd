"""A run's noted addresses stay off the heap, and are found again."""

from __future__ import annotations

import tracemalloc

from azsyncd.targets.noted import NotedAddresses


def test_two_hundred_thousand_addresses_cost_the_heap_almost_nothing() -> None:
    noted = NotedAddresses()
    addresses = (f"first.last{i}@contoso.example" for i in range(200_000))
    tracemalloc.start()
    try:
        batch: list[str] = []
        for address in addresses:
            batch.append(address)
            if len(batch) == 100:  # as a help desk's writes note them, a batch at a time
                noted.add(batch)
                batch = []
        grown = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # A set of them would hold about 26 MB (130 B an address).
    assert grown < 1_000_000, grown
    asked = ["first.last7@contoso.example", "first.last199999@contoso.example", "x@y.example"]
    assert noted.among(asked) == set(asked[:2])
    assert noted.among([f"first.last{i}@contoso.example" for i in range(2000)]) == {
        f"first.last{i}@contoso.example" for i in range(2000)
    }
    noted.close()
    assert noted.among(asked) == set()
