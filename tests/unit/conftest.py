from __future__ import annotations

import pytest


@pytest.fixture
def postgres_url(postgres_db: str) -> str:
    """An empty database of its own on the session's throwaway PostgreSQL server."""
    return postgres_db
