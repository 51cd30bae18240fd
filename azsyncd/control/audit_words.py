"""An audit entry in words: "changed settings" rather than "PATCH /v1/settings".

The daemon records each change as the request that made it and the keys it changed
("schedule.time: "00:00" -> "23:30"", secrets never shown). This names the request for an
admin; a request it does not know (a newer daemon's) is shown as it came. It lives with the
client because it spells the API's paths, which nothing outside the client does.
"""

from __future__ import annotations

import re

from azsyncd.answers import AuditEntry

# (method, path pattern) -> words; {0} is the first part the pattern captures.
WORDS: list[tuple[str, str, str]] = [
    ("PATCH", r"/v1/settings", "changed settings"),
    ("PATCH", r"/v1/lifecycle", "changed leavers and contact-group rules"),
    ("POST", r"/v1/tenants", "added a tenant"),
    ("PATCH", r"/v1/tenants/([^/]+)", "changed tenant {0}"),
    ("DELETE", r"/v1/tenants/([^/]+)", "deleted tenant {0}"),
    ("POST", r"/v1/tenants/([^/]+)/enable", "enabled tenant {0}"),
    ("POST", r"/v1/tenants/([^/]+)/disable", "disabled tenant {0}"),
    ("PUT", r"/v1/tenants/([^/]+)/credential", "stored a new credential for {0}"),
    ("POST", r"/v1/tenants/([^/]+)/authorize", "authorized tenant {0}"),
    ("POST", r"/v1/sync", "started a sync"),
    ("POST", r"/v1/runs/(\d+)/approve", "approved held run {0}"),
    ("POST", r"/v1/runs/(\d+)/discard", "discarded held run {0}"),
    ("POST", r"/v1/reload", "reloaded the configuration file"),
    ("POST", r"/v1/alerts/test", "sent a test alert"),
    ("POST", r"/v1/welcome/resend", "sent a welcome email again"),
    ("POST", r"/v1/preview", "previewed a change"),
    ("POST", r"/v1/demo/users", "added a person to the demo directory"),
]


def audit_what(entry: AuditEntry) -> str:
    """The change in words, with "refused" when the daemon said no."""
    method, _, path = entry.action.partition(" ")
    words = entry.action
    for verb, pattern, text in WORDS:
        found = re.fullmatch(pattern, path.split("?")[0])
        if verb == method and found:
            words = text.format(*found.groups())
            break
    if entry.status >= 400:
        words = f"refused ({entry.status}): {words}"
    return words


def audit_changed(entry: AuditEntry) -> str:
    """The first change ("schedule.time: 00:00 -> 23:30"), and how many more."""
    if not entry.changes:
        return ""
    more = len(entry.changes) - 1
    return entry.changes[0] + (f" (+{more} more)" if more else "")
