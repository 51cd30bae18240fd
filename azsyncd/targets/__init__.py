"""Where contacts land: the built-in store and HappyFox, behind one small protocol."""

from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, Target, WriteResult
from azsyncd.targets.fields import Choice, FieldDef, FieldType

__all__ = [
    "Choice",
    "ContactWrite",
    "ExistingContact",
    "FieldDef",
    "FieldType",
    "Phone",
    "Target",
    "WriteResult",
]
