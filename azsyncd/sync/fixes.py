"""What fixes a failing contact, as data: the kind of fix and the attribute it is in.

A failure's reason is a sentence for the help desk's admin. The data-quality report and its
digest (``sync/quality.py``) speak to the directory's owners and group failing contacts by
what fixes them, so each reason carries a ``Fix`` beside it: never parsed back from the
text. A fix holds the attribute that failed and, for a value that is no choice, that value
alone: nothing else of the user.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Fixes the directory's owners make in Entra ID; every other kind is the help desk admin's.
DIRECTORY = ("set", "choice", "format", "email")
KINDS = (*DIRECTORY, "guest", "mapping", "help_desk", "other")


@dataclass(frozen=True)
class Fix:
    """``kind``: set (an empty attribute), choice (a value that is none of a field's choices),
    format (a value of the wrong type), email (no address), guest (a guest's UPN mapped as
    the address), mapping (the configuration), help_desk (the help desk refused the write),
    other. ``attribute``: the directory attribute; ``field``: the help desk's field;
    ``value``: the attribute's value, for a choice only; ``allowed``: the field's choices;
    ``detail``: what the kind alone does not say (the wanted type, the refusal in short)."""

    kind: str
    attribute: str = ""
    field: str = ""
    value: str = ""
    allowed: tuple[str, ...] = ()
    detail: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        """What groups failing contacts: one fix, one group."""
        return (self.kind, self.attribute, self.field, self.value, self.detail)

    @property
    def for_directory(self) -> bool:
        return self.kind in DIRECTORY

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["allowed"] = list(self.allowed)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Fix | None:
        """A stored fix; None for anything that is not one (an older or damaged row)."""
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        allowed = data.get("allowed") or ()
        return cls(
            kind=str(data["kind"]),
            attribute=str(data.get("attribute") or ""),
            field=str(data.get("field") or ""),
            value=str(data.get("value") or ""),
            allowed=tuple(str(a) for a in allowed) if isinstance(allowed, list) else (),
            detail=str(data.get("detail") or ""),
        )


def stored(fixes: list[Fix]) -> list[dict[str, Any]]:
    return [f.as_json() for f in fixes]


def loaded(data: Any) -> list[Fix]:
    found = [Fix.from_json(item) for item in data] if isinstance(data, list) else []
    return [f for f in found if f is not None]
