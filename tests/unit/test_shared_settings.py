"""Which settings a daemon taking over adopts from the database, and which stay its host's."""

from __future__ import annotations

from azsyncd.service.standby.shared_settings import for_this_host

HERE = {
    "account": {"name": "Desk", "timezone": "UTC"},
    "state": {"database_url": "postgresql://here/db", "shared_dir": "", "history_runs": 30},
    "control": {"socket": "/run/here.sock", "admins": ["ann"]},
    "target": {"kind": "happyfox", "happyfox": {"base_url": "https://here", "api_key_file": "k"}},
    "tenants": [
        {"name": "contoso", "client_secret_file": "/etc/here/contoso", "enabled": True},
        {"name": "gone", "client_secret_file": "/etc/here/gone", "enabled": True},
    ],
}
THERE = {
    "account": {"name": "Desk", "timezone": "Europe/Berlin"},
    "state": {"database_url": "postgresql://there/db", "shared_dir": "/x", "history_runs": 90},
    "control": {"socket": "/run/there.sock", "admins": []},
    "target": {"kind": "happyfox", "happyfox": {"base_url": "https://there", "api_key_file": "j"}},
    "tenants": [
        {"name": "fabrikam", "client_secret_file": "/etc/there/fabrikam", "enabled": True},
        {"name": "contoso", "client_secret_file": "/etc/there/contoso", "enabled": False},
    ],
}


def test_the_account_settings_come_from_the_database_the_host_keys_stay() -> None:
    merged = for_this_host(HERE, THERE)
    assert merged["account"]["timezone"] == "Europe/Berlin"
    assert merged["state"] == {
        "database_url": "postgresql://here/db",
        "shared_dir": "",
        "history_runs": 90,
    }
    # [control] is the host's as a whole: its socket and who may change things here.
    assert merged["control"] == HERE["control"]
    assert merged["target"]["happyfox"] == {"base_url": "https://here", "api_key_file": "k"}
    # Tenants as the active daemon had them (order, added, removed, enabled), each known
    # tenant keeping this host's secret file; a tenant new here takes the stored file name.
    assert merged["tenants"] == [
        {"name": "fabrikam", "client_secret_file": "/etc/there/fabrikam", "enabled": True},
        {"name": "contoso", "client_secret_file": "/etc/here/contoso", "enabled": False},
    ]
    assert for_this_host(HERE, HERE) == HERE
