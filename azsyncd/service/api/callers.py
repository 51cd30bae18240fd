"""Who is calling: the socket peer's user, and what ``[control] admins`` and ``readers`` let
them do.

The daemon learns each caller's uid from the socket itself (SO_PEERCRED); nothing the
caller sends can change it. With ``[control] admins`` unset every socket user may do
everything, as before. Set: the listed users and @groups may change things, and root and the
daemon's own user always may (they can edit the file anyway); ``[control] readers`` (and the
admins) may also read personal data: contacts, a run's records and CSV report, the leavers,
the log of a one-user run. Everyone else sees status, runs and counts.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from azsyncd.service.api.errors import ApiError
from azsyncd.service.socket.connections import PEER_KEY, Peer

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads that answer with people's names, addresses, phones or employee ids.
PERSONAL_PATHS = re.compile(
    r"^/v1/(contacts|contacts\.csv|runs/[^/]+/(records|report\.csv)"
    r"|report/quality|report/quality\.csv|lifecycle/joiners)$"
)


@dataclass(frozen=True)
class Caller:
    name: str
    uid: int | None
    gid: int | None

    @property
    def label(self) -> str:
        return self.name if self.uid is None else f"{self.name} (uid {self.uid})"


def caller_from_scope(scope: Mapping[str, Any]) -> Caller:
    peer: Peer | None = scope.get(PEER_KEY)
    if peer is None:
        return Caller("(no socket credentials)", None, None)
    try:
        name = pwd.getpwuid(peer.uid).pw_name
    except KeyError:
        name = f"uid {peer.uid}"
    return Caller(name, peer.uid, peer.gid)


def _groups(caller: Caller) -> set[str]:
    gids = {caller.gid} if caller.gid is not None else set()
    try:
        gids.update(os.getgrouplist(caller.name, caller.gid or 0))
    except OSError:
        pass  # no such user in the password database: the socket's gid only
    names = set()
    for gid in gids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


def _listed(caller: Caller, names: list[str]) -> bool:
    if caller.name in names:
        return True
    wanted = {a[1:] for a in names if a.startswith("@")}
    return bool(wanted and wanted & _groups(caller))


def may_change(caller: Caller, admins: list[str]) -> bool:
    if not admins:
        return True
    if caller.uid is None:
        return False
    return caller.uid in (0, os.geteuid()) or _listed(caller, admins)


def may_read_people(caller: Caller, control: Any) -> bool:
    """Contacts, records, reports, leavers: admins and ``[control] readers``."""
    if may_change(caller, control.admins):
        return True
    return caller.uid is not None and _listed(caller, control.readers)


def people_of(request: Request) -> bool:
    """Whether this request's caller may read personal data."""
    return may_read_people(
        caller_from_scope(request.scope), request.app.state.daemon.config.control
    )


def require_change_right(request: Request) -> None:
    """Every call that changes something needs the right to; personal data needs a reader's."""
    if request.method in READ_METHODS:
        if PERSONAL_PATHS.match(request.url.path) and not people_of(request):
            caller = caller_from_scope(request.scope)
            raise ApiError(
                403,
                "not_a_reader",
                f"{caller.name} may see status, runs and counts but not personal data (contacts,"
                " records, CSV and quality reports, joiners): [control] readers and admins list"
                " neither this user"
                " nor any of its groups",
                "ask an admin to add you to [control] readers in the configuration file (a user"
                " name or @group), then reload",
            )
        return
    caller = caller_from_scope(request.scope)
    if not may_change(caller, request.app.state.daemon.config.control.admins):
        raise ApiError(
            403,
            "read_only",
            f"{caller.name} may read but not change azsyncd: [control] admins does not list"
            " this user or any of its groups",
            "ask an admin to add you to [control] admins in the configuration file (a user name"
            " or @group), then reload",
        )


def require_active(request: Request) -> None:
    """A standby daemon (another one on the shared state is active) only answers reads."""
    daemon = request.app.state.daemon
    if request.method not in READ_METHODS and not daemon.active:
        raise daemon.standby.refusal()
