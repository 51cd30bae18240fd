from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from tests.fakes.postgres import find_bin, postgres_server

    if not find_bin("initdb") and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server binaries here; .ci/run installs Debian's postgresql")
    with postgres_server() as url:
        yield url
