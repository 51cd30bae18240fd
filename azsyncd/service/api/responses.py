"""JSON answers whose text can be printed on a terminal: ``curl --unix-socket ...`` shows a
contact's name as JSON, and JSON writes C1 controls and bidi overrides as they are. Here they
leave as ``\\uXXXX`` escapes, which mean the same characters to every JSON reader."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from azsyncd.inert import inert


class InertJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return inert(super().render(content).decode("utf-8")).encode("utf-8")
