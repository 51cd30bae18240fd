"""Every target azsync can write to, in one place.

To add a target: write its module with a ``TargetSpec`` (see ``spec.py``) and add it to
``BUILT_IN``. Importing this module registers each target's ``[target.<kind>]`` table with
the config layer (``config/target_kinds.py``); the factory and the job wiring ask ``spec``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azsyncd.config import target_kinds
from azsyncd.targets import freshservice, happyfox, local, zammad, zendesk
from azsyncd.targets.spec import TargetSpec

BUILT_IN: tuple[TargetSpec, ...] = (
    local.TARGET,
    happyfox.TARGET,
    freshservice.TARGET,
    zammad.TARGET,
    zendesk.TARGET,
)


def spec(name: str) -> TargetSpec:
    found = target_kinds.get(name)
    if not isinstance(found, TargetSpec):
        raise LookupError(f'no target "{name}" is registered (known: {target_kinds.names()})')
    return found


def register(target: TargetSpec) -> None:
    target_kinds.register(target)


@contextmanager
def registered(target: TargetSpec) -> Iterator[TargetSpec]:
    """A target known for the duration of a block (a test's throwaway target)."""
    register(target)
    try:
        yield target
    finally:
        target_kinds.unregister(target.name)


for _target in BUILT_IN:
    register(_target)
