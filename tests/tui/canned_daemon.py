"""Fixed daemon answers for snapshot tests: the screens must not depend on the clock.

Each answer is given by the keys that matter to the screens; ``answer`` completes it through
its answer type (the client refuses an answer without every key), so a key renamed in the
types shows here too."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel

from azsyncd.attributes import KNOWN
from azsyncd.control.client import (
    Attributes,
    AuditLog,
    Client,
    Contacts,
    Fields,
    Groups,
    Lifecycle,
    PreviewAnswer,
    Records,
    RunDetail,
    RunList,
    Settings,
    Status,
    SyncOutcome,
    TargetInfo,
    Tenant,
    TenantAuthorization,
    TenantList,
)

T0 = "2026-11-26T00:00:04.000000+00:00"
STATUS = {
    "version": "0.1.0",
    "pid": 4242,
    "uptime_seconds": 3600.0,
    "config_path": "/etc/azsyncd/azsyncd.toml",
    "config_error": None,
    "account": "Contoso Help Desk",
    "timezone": "Europe/Berlin",
    "sync_enabled": True,
    "next_run": "2026-11-26T23:00:00+00:00",
    "interval": "5m",
    "next_tick": "2026-11-26T00:05:02+00:00",
    "target": "happyfox",
    "running": {
        "run_id": 8,
        "trigger": "manual",
        "dry_run": False,
        "started_at": T0,
        "phase": "writing contacts",
        "tenant": "contoso",
        "done": 600,
        "total": 1500,
        "counts": {"new": 412, "failed": 9},
    },
    "last_run": {
        "id": 7,
        "status": "partial",
        "trigger": "scheduled",
        "started_at": T0,
        "finished_at": T0,
        "counts": {"new": 231, "updated": 12, "unchanged": 980, "failed": 7, "skipped": 3},
    },
    "held_runs": [
        {
            "id": 6,
            "trigger": "scheduled",
            "message": "tenant contoso: 412 create (threshold 50, at most 50)",
            "started_at": T0,
        }
    ],
    "tenants": [
        {
            "name": "contoso",
            "status": "active",
            "reason": "",
            "fix": "",
            "last_sync_at": T0,
            "last_checked_at": "2026-11-26T00:00:02.000000+00:00",
            "next_tick_at": "2026-11-26T00:05:02+00:00",
            "oldest_unwritten_at": None,
            "oldest_unwritten_age_seconds": None,
            "last_tick": None,
        },
        {
            "name": "fabrikam",
            "status": "disabled",
            "reason": "AADSTS7000222: The client secret has expired.",
            "fix": "create a new secret",
            "last_sync_at": None,
            "last_checked_at": None,
            "next_tick_at": "2026-11-26T00:07:32+00:00",
            "oldest_unwritten_at": None,
            "oldest_unwritten_age_seconds": None,
            "last_tick": {
                "at": "2026-11-26T00:02:32+00:00",
                "skipped": "the tenant is disabled: AADSTS7000222: The client secret has expired.",
                "counts": {"recorded": 0, "idle": 0, "skipped": 1},
            },
        },
    ],
}
TENANTS = [
    {
        "name": "contoso",
        "display_name": "Contoso",
        "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-4333-8444-555555555555",
        "cloud": "global",
        "auth": "secret",
        "enabled": True,
        "users": "groups",
        "groups": ["a0000001-0000-4000-b000-000000000000"],
        "exclude_disabled": True,
        "state": STATUS["tenants"][0],
    },  # type: ignore[index]
    {
        "name": "fabrikam",
        "display_name": "Fabrikam",
        "tenant_id": "0b1e2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "client_id": "66666666-7777-4888-8999-000000000000",
        "cloud": "usgov",
        "auth": "device_code",
        "enabled": True,
        "users": "all",
        "groups": [],
        "exclude_disabled": False,
        "state": STATUS["tenants"][1],
    },  # type: ignore[index]
]
SETTINGS = {
    "account": {"name": "Contoso Help Desk", "timezone": "Europe/Berlin"},
    "schedule": {"enabled": True, "time": "00:00", "interval": "5m"},
    "target": {"kind": "happyfox"},
    "mapping": {
        "email": "userPrincipalName",
        "guest_email_from_mail": True,
        "name": "{givenName} {surname}",
        "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
        "skip_empty_phones": False,
        "custom_fields": {"Department": "department", "Employee ID": "employeeId"},
        "overwrite_custom_fields": True,
    },
    "welcome_email": {
        "enabled": True,
        "smtp_host": "smtp.contoso.example",
        "smtp_port": 587,
        "tls": "starttls",
        "subject": "",
    },
    "sync": {
        "min_share": 0.0,
        "full_every": 7.0,
        "thresholds": {"create": 50, "update": "10%", "disable": None, "group_changes": None},
    },
    "state": {"history_runs": 30},
    "alerts": {
        "email_to": ["ops@contoso.example"],
        "webhook_url": "",
        "secret_file": None,
        "stale_hours": 24,
    },
}
TARGET = {
    "kind": "happyfox",
    "kinds": ["local", "happyfox"],
    "in_file": True,
    "keys": [
        {
            "key": "base_url",
            "value": "https://contoso.happyfox.com",
            "type": "string",
            "description": "https://<account>.happyfox.com, .happyfox.net, or a custom domain",
            "required": True,
            "file_only": True,
        },
        {
            "key": "api_key_file",
            "value": "/etc/azsyncd/happyfox-key",
            "type": "string",
            "required": True,
            "secret_file": True,
            "file_only": True,
        },
        {
            "key": "rate_headroom",
            "value": 0.9,
            "type": "number",
            "description": "Share of the published rate limits to use",
            "default": 0.9,
        },
        {
            "key": "mark",
            "value": "contact_group",
            "type": "choice",
            "choices": ["contact_group", "none"],
            "default": "contact_group",
        },
        {"key": "group_name", "value": None, "type": "string", "default": "Microsoft Entra ID"},
    ],
}
FIELDS = [
    {
        "id": "1",
        "name": "Department",
        "type": "text",
        "required": False,
        "choices": [],
        "raw_type": "text",
    },
    {
        "id": "2",
        "name": "Employee ID",
        "type": "number",
        "required": False,
        "choices": [],
        "raw_type": "number",
    },
    {
        "id": "3",
        "name": "Office",
        "type": "dropdown",
        "required": True,
        "choices": ["Berlin", "London"],
        "raw_type": "choice",
    },
]
RUN = {
    "id": 7,
    "trigger": "scheduled",
    "dry_run": False,
    "options": {},
    "status": "partial",
    "message": "7 contact(s) failed; see the records",
    "counts": STATUS["last_run"]["counts"],  # type: ignore[index]
    "started_at": T0,
    "finished_at": T0,
    "log": [],
}
RECORDS = [
    {
        "tenant": "contoso",
        "user_id": "u1",
        "email": "anna.lee@contoso.example",
        "type": "New",
        "status": "success",
        "result": "Created",
        "changed_fields": "",
    },
    {
        "tenant": "contoso",
        "user_id": "u2",
        "email": "bjorn@contoso.example",
        "type": "Existing",
        "status": "success",
        "result": 'Updated: Department: "Sales" -> "Legal"',
        "changed_fields": "Department",
    },
    {
        "tenant": "contoso",
        "user_id": "u3",
        "email": "grace@contoso.example",
        "type": "New",
        "status": "failed",
        "result": (
            'Employee ID <- employeeId: "A-6" is not a number (datatype mismatch); fix: '
            "correct the value in Entra ID"
        ),
        "changed_fields": "",
    },
]
CONTACTS = [
    {
        "id": 1,
        "email": "anna.lee@contoso.example",
        "name": "Anna Lee",
        "phones": [{"type": "w", "number": "+49 30 1"}],
        "custom_fields": {"Department": "Sales"},
        "source_tenant": "contoso",
        "source_object_id": "u1",
        "synced_from_entra": True,
        "created_at": T0,
        "updated_at": T0,
    },
    {
        "id": 2,
        "email": "walk-in@example.com",
        "name": "Walk-in Customer",
        "phones": [],
        "custom_fields": {},
        "source_tenant": "",
        "source_object_id": "",
        "synced_from_entra": False,
        "created_at": T0,
        "updated_at": T0,
    },
]
GROUPS = [
    {"id": "a0000001-0000-4000-b000-000000000000", "name": "Customer facing", "description": ""}
]
LIFECYCLE = {
    "lifecycle": {
        "on_removed": "disable_login",
        "on_disabled": "disable_login",
        "grace_days": 3,
        "group_name": "Left Microsoft Entra ID: {tenant}",
    },
    "contact_groups": [
        {"group": "Sales desk", "when": 'department starts with "Sales"', "access_tickets": True},
        {"group": "Customer facing", "entra_group": GROUPS[0]["id"], "access_tickets": False},
    ],
    "leavers": [
        {
            "tenant": "contoso",
            "object_id": "00000000-0000-4000-a000-000000000005",
            "email": "francois.lopez5@contoso.example",
            "gone_since": None,
            "disabled": True,
            "login_off": True,
        }
    ],
}


AUDIT = [
    {
        "id": 12,
        "at": T0,
        "user": "mlopez",
        "uid": 1001,
        "action": "PATCH /v1/settings",
        "status": 200,
        "changes": ["schedule.time: 00:00 -> 23:30", "welcome_email.enabled: false -> true"],
    },
    {
        "id": 11,
        "at": T0,
        "user": "mlopez",
        "uid": 1001,
        "action": "PUT /v1/tenants/contoso/credential",
        "status": 200,
        "changes": ["tenants.contoso: client secret stored in /etc/azsyncd/credentials"],
    },
    {
        "id": 10,
        "at": T0,
        "user": "jdoe",
        "uid": 1002,
        "action": "POST /v1/sync",
        "status": 403,
        "changes": ["refused: jdoe is not in [control] admins"],
    },
]
DEVICE_CODE = {
    "tenant": "fabrikam",
    "status": "pending",
    "user_code": "FAB-1234",
    "verification_uri": "https://microsoft.com/devicelogin",
    "message": "",
    "expires_in": 900,
    "reason": "",
    "fix": "",
}
ALERTS = {
    "enabled": True,
    "alerts": [
        {"key": "held-6", "title": "sync run 6 is held: nothing was written"},
        {"key": "run-new-failures", "title": "sync run 7 ended with 7 new failure(s)"},
    ],
}
ANSWERS: dict[str, Any] = {
    "/v1/status": STATUS,
    "/v1/tenants": {"tenants": TENANTS},
    "/v1/tenants/contoso": TENANTS[0],
    "/v1/tenants/fabrikam/authorize": {**TENANTS[1], "device_code": DEVICE_CODE},
    "/v1/settings": SETTINGS,
    "/v1/target": TARGET,
    "/v1/attributes": {"attributes": list(KNOWN)},
    "/v1/fields": {"target": "happyfox", "fields": FIELDS},
    "/v1/runs": {"runs": [{k: v for k, v in RUN.items() if k != "log"}]},
    "/v1/runs/7": RUN,
    "/v1/runs/7/records": {"run_id": 7, "total": len(RECORDS), "records": RECORDS},
    "/v1/contacts": {"total": len(CONTACTS), "contacts": CONTACTS},
    "/v1/tenants/contoso/groups": {"groups": GROUPS},
    "/v1/lifecycle": LIFECYCLE,
    "/v1/audit": {"total": len(AUDIT), "entries": AUDIT},
    "/v1/alerts": ALERTS,
}
PLAN = {
    "run_id": 9,
    "run": {**RUN, "id": 9, "dry_run": True, "trigger": "manual"},
    "plan": {"run_id": 9, "total": len(RECORDS), "records": RECORDS},
}
CHECKED = {
    "run_id": 10,
    "run": {
        **RUN,
        "id": 10,
        "dry_run": True,
        "trigger": "manual",
        "status": "partial",
        "options": {"user": "grace@contoso.example"},
        "log": [
            {"at": T0, "level": "info", "message": "sync started (manual, dry run)"},
            {
                "at": T0,
                "level": "info",
                "message": "contoso: 1. fetched: grace@contoso.example "
                "(id 00000000-0000-4000-a000-000000000007)",
            },
            {
                "at": T0,
                "level": "info",
                "message": "contoso: 2. scope: member of selected group(s) "
                "a0000001-0000-4000-b000-000000000000",
            },
            {
                "at": T0,
                "level": "info",
                "message": "contoso: 3. mapped: email grace@contoso.example, name 'Grace Hopper', "
                "phones [('mo', '+49 170 200007')], custom fields {'Department': 'Legal', "
                "'Employee ID': 'A-6'}",
            },
            {
                "at": T0,
                "level": "info",
                "message": 'contoso: 4. action: failed (Employee ID <- employeeId: "A-6" is not '
                "a number)",
            },
            {"at": T0, "level": "info", "message": "contoso: 5. result: failed: Employee ID"},
            {"at": T0, "level": "info", "message": "fabrikam: 1. fetched: no user grace@contoso"},
            {"at": T0, "level": "info", "message": "sync partial"},
        ],
    },
    "plan": {"run_id": 10, "total": 1, "records": [RECORDS[2]]},
}
# The mistake (Main phone <- faxNumber, empty phones not skipped), previewed.
FAX_REASON = (
    "phone (m) <- faxNumber: empty in the directory; fix: set faxNumber, or set "
    "mapping.skip_empty_phones = true"
)
NO_ACTIONS = dict.fromkeys(
    ["create", "update", "unchanged", "fail", "out_of_scope", "leaver", "returned", "group_change"],
    0,
)
PREVIEW = {
    "counts": {**NO_ACTIONS, "create": 2, "fail": 1248},
    "fail_share": 0.9984,
    "max_fail_share": 0.2,
    "refused": "this change would fail 1248 of 1250 contacts of tenant contoso (100%, more than "
    "[sync] max_fail_share = 0.2; 7 fail now); top reason (1241): " + FAX_REASON,
    "tenants": [
        {
            "name": "contoso",
            "ok": True,
            "reason": "",
            "users": 1250,
            "contacts": 1248,
            "counts": {**NO_ACTIONS, "create": 2, "fail": 1248},
            "fail_share": 0.9984,
            "failing_now": 7,
        },
        {
            "name": "fabrikam",
            "ok": False,
            "reason": "AADSTS7000222: The client secret has expired.",
            "users": 0,
            "contacts": 0,
            "counts": NO_ACTIONS,
            "fail_share": 0.0,
            "failing_now": 0,
        },
    ],
    "reasons": [
        {
            "reason": FAX_REASON,
            "count": 1241,
            "examples": ["ann@contoso.example", "bjorn@contoso.example", "chloe@contoso.example"],
        },
        {
            "reason": 'Employee ID <- employeeId: "…" is not a number (datatype mismatch)',
            "count": 7,
            "examples": ['grace@contoso.example: "A-6"'],
        },
    ],
    "sample": [
        {
            "tenant": "contoso",
            "user": "00000000-0000-4000-a000-000000000099",
            "email": "new.starter@contoso.example",
            "action": "create",
            "changes": ['name: "" -> "New Starter"', 'Department: "" -> "Sales"'],
        }
    ],
    "seconds": 41.2,
    "notes": [],
}
# Each path's answer type: an answer is completed by it before it is sent.
KINDS: dict[str, type[BaseModel]] = {
    "/v1/status": Status,
    "/v1/tenants": TenantList,
    "/v1/tenants/contoso": Tenant,
    "/v1/tenants/fabrikam/authorize": TenantAuthorization,
    "/v1/settings": Settings,
    "/v1/attributes": Attributes,
    "/v1/fields": Fields,
    "/v1/runs": RunList,
    "/v1/runs/7": RunDetail,
    "/v1/runs/7/records": Records,
    "/v1/contacts": Contacts,
    "/v1/tenants/contoso/groups": Groups,
    "/v1/lifecycle": Lifecycle,
    "/v1/audit": AuditLog,
    "/v1/sync": SyncOutcome,
    "/v1/preview": PreviewAnswer,
    "/v1/target": TargetInfo,
}


def complete(path: str, data: Any) -> Any:
    """The answer with every key its type names (the defaults for those not given)."""
    kind = KINDS.get(path)
    return kind.model_validate(data).model_dump(mode="json") if kind else data


REFUSED_TIME = {
    "error": {
        "code": "invalid_config",
        "message": "the configuration has 1 problem:",
        "fix": "correct the keys listed in problems; nothing was changed",
        "problems": [
            {
                "key": "schedule.time",
                "message": '"noon" is not a time of day; write it as HH:MM, e.g. "00:00" or '
                '"23:30"',
            }
        ],
    }
}


def answer(request: httpx.Request) -> httpx.Response:
    """Reads come from ANSWERS; writes succeed and change nothing, but a time of "noon" and
    the fax-number mapping (refused for its preview unless forced)."""
    path = request.url.path
    if request.method == "GET":
        if path in ANSWERS:
            return httpx.Response(200, json=complete(path, ANSWERS[path]))
        error = {"code": "not_found", "message": f"{path} was not found"}
        return httpx.Response(404, json={"error": error})
    body = json.loads(request.content or b"{}")
    if path == "/v1/sync":
        if body.get("wait"):
            return httpx.Response(200, json=complete(path, CHECKED if body.get("user") else PLAN))
        return httpx.Response(202, json=complete(path, {"run_id": 8}))
    if path == "/v1/preview":
        return httpx.Response(200, json=complete(path, PREVIEW))
    if path == "/v1/settings":
        if body.get("schedule", {}).get("time") == "noon":
            return httpx.Response(422, json=REFUSED_TIME)
        if body.get("mapping", {}).get("phones", {}).get("m") == "faxNumber" and not body.get(
            "force"
        ):
            refused = {"code": "preview_fails", "message": PREVIEW["refused"], "fix": "..."}
            preview = complete("/v1/preview", PREVIEW)
            return httpx.Response(422, json={"error": {**refused, "preview": preview}})
        return httpx.Response(200, json=complete(path, SETTINGS))
    if path == "/v1/tenants/fabrikam/authorize":
        return httpx.Response(202, json=complete(path, ANSWERS[path]))
    if path in ANSWERS:  # a change answers with what it changed, here as it was
        return httpx.Response(200, json=complete(path, ANSWERS[path]))
    return httpx.Response(200, json={})


def canned_client() -> Client:
    """The real client, answered from fixed data instead of a socket."""
    return Client("/nonexistent/azsyncd.sock", transport=httpx.MockTransport(answer))
