"""Where contacts land: the built-in store and HappyFox, behind one small protocol."""

from azsyncd.targets.base import (
    Choice,
    ContactWrite,
    ExistingContact,
    FieldDef,
    Phone,
    Target,
    WriteResult,
)

__all__ = [
    "Choice",
    "ContactWrite",
    "ExistingContact",
    "FieldDef",
    "Phone",
    "Target",
    "WriteResult",
]
