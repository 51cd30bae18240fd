"""A target defined under tests/ and registered like a built-in one: the configuration, the
factory and the job wiring take it as they are. (Its contract runs in tests/contract/targets/.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from azsyncd.config import file as config_file
from azsyncd.config import target_kinds
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.errors import ConfigError
from azsyncd.service.daemon import Daemon
from azsyncd.targets import ContactWrite, WriteResult, registry
from tests.engine_setup import HAPPYFOX_MAPPING, Router, sync, tenant_toml
from tests.fakes import memory_target
from tests.fakes.directory import contoso

BUILT_IN = [target.name for target in registry.BUILT_IN]

CONFIG = """
[target]
kind = "memory"
[target.memory]
book = "registry-test"
token_file = "token"
calls_per_minute = 5000
"""
CONFIG += HAPPYFOX_MAPPING  # the same three custom fields


@pytest.fixture
def memory() -> Iterator[None]:
    with registry.registered(memory_target.TARGET):
        yield
    memory_target.BOOKS.clear()


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "azsyncd.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        config_file.load(tmp_path / "azsyncd.toml")
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_a_registered_target_syncs_through_the_daemon(
    tmp_path: Path, memory: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: set[str] = set()
    write = memory_target.MemoryTarget.write

    def watched(self: memory_target.MemoryTarget, batch: list[ContactWrite]) -> list[WriteResult]:
        writers.add(threading.current_thread().name)
        return write(self, batch)

    monkeypatch.setattr(memory_target.MemoryTarget, "write", watched)
    (tmp_path / "token").write_text("memory-token-value")
    (tmp_path / "secret").write_text(DEMO_SECRET)
    (tmp_path / "azsyncd.toml").write_text(CONFIG + tenant_toml(extra='display_name = "Contoso"'))
    directory = contoso(users=40)
    daemon = Daemon(
        config_file.load(tmp_path / "azsyncd.toml"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(Router(directory)),
        sync_process=False,  # the engine on the runner's thread
    )
    run = sync(daemon)
    book = memory_target.BOOKS["registry-test"]
    failed = daemon.state.records(run.id, status="failed")
    assert run.counts["new"] == len(book.contacts) == 40 - len(failed) > 20
    assert any("(allowed: Berlin, London)" in r.result for r in failed)  # "Remote" offices
    assert max(book.batches) == memory_target.MemoryTarget.max_batch  # batched as declared
    # On the write pool, which the job starts only for a target declaring parallel writes.
    assert writers and all(name.startswith("write_") for name in writers)
    assert sorted(book.marks["Contoso"]) == sorted(c.id for c in book.contacts.values())
    log = " ".join(line.message for line in daemon.state.log_lines(run.id))
    assert "memory-token-value" not in log + run.message

    again = sync(daemon)
    assert (again.counts["new"], again.counts["updated"]) == (0, 0)


def test_its_table_is_checked_with_file_key_and_fix(tmp_path: Path, memory: None) -> None:
    text = CONFIG.replace('token_file = "token"', 'tokn_file = "token"').replace(
        "Office = ", "Ofice = "
    )
    assert sorted(problems_of(tmp_path, text)) == [
        "target.memory.token_file: is required but missing",
        'target.memory.tokn_file: unknown key "tokn_file" (did you mean "token_file"?)',
    ]
    text = CONFIG.replace("Office = ", "Ofice = ").replace('kind = "memory"', 'kind = "memroy"')
    assert problems_of(tmp_path, text) == [
        'target.kind: unknown target kind "memroy" (did you mean "memory"?); '
        f"use one of: {', '.join(BUILT_IN)}, memory"
    ]
    assert problems_of(tmp_path, CONFIG.replace("Office = ", "Ofice = ")) == [
        'mapping.custom_fields.Ofice: the memory book has no field "Ofice" (did you mean "Office"?)'
    ]


def test_its_secret_is_refused_inline_and_checked_on_disk(tmp_path: Path, memory: None) -> None:
    inline = CONFIG.replace('token_file = "token"', 'token_file = "token"\ntoken = "hunter2"')
    problems = problems_of(tmp_path, inline)
    assert len(problems) == 1 and problems[0].startswith("target.memory.token:")
    assert "secrets are not accepted inline" in problems[0] and "hunter2" not in problems[0]
    (tmp_path / "azsyncd.toml").write_text(CONFIG)
    with pytest.raises(ConfigError, match=r"target\.memory\.token_file: secret file .* does not"):
        config_file.load(tmp_path / "azsyncd.toml", check_files=True)


def test_unregistered_it_is_unknown_again(tmp_path: Path) -> None:
    with registry.registered(memory_target.TARGET):
        assert "memory" in target_kinds.names()
    assert "memory" not in target_kinds.names()
    assert problems_of(tmp_path, CONFIG)[0].startswith(
        f'target.kind: unknown target kind "memory"; use one of: {", ".join(BUILT_IN)}'
    )


def test_a_kind_cannot_take_a_name_in_use_or_that_is_no_table(memory: None) -> None:
    with pytest.raises(ValueError, match='registered as "memory" already'):
        registry.register(replace(memory_target.TARGET, parallel=1))
    for name in ("kind", "Memory", "two words", ""):
        with pytest.raises(ValueError, match="cannot name a target kind"):
            registry.register(replace(memory_target.TARGET, name=name))
    registry.register(memory_target.TARGET)  # the same one again changes nothing
    assert target_kinds.names() == [*BUILT_IN, "memory"]
