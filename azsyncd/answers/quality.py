"""``GET /v1/report/quality``: failing contacts grouped by what fixes them, with the digest's
text."""

from __future__ import annotations

from azsyncd.answers.base import Answer


class QualityGroup(Answer):
    title: str = ""
    where: str = ""  # "Entra ID" or "azsync or the help desk"
    kind: str = ""
    attribute: str = ""
    field: str = ""  # the help desk's field
    count: int = 0
    addresses: list[str] = []  # the first few
    trace: str = ""


class Quality(Answer):
    account: str = ""
    failing: int = 0
    text: str = ""
    groups: list[QualityGroup] = []
