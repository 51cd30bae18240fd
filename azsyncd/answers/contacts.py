"""``GET /v1/contacts``: the built-in store's contacts."""

from __future__ import annotations

from typing import Any

from azsyncd.answers.base import Answer, Instant


class Phone(Answer):
    type: str = ""
    number: str = ""
    id: str | None = None  # the store's own id of the number, once it has one


class Contact(Answer):
    id: int = 0
    email: str = ""
    name: str = ""
    phones: list[Phone] = []
    custom_fields: dict[str, Any] = {}
    source_tenant: str = ""
    source_object_id: str = ""
    synced_from_entra: bool = False
    login_enabled: bool = True
    contact_groups: dict[str, bool] = {}  # name -> access_tickets
    created_at: Instant | None = None
    updated_at: Instant | None = None


class Contacts(Answer):
    total: int = 0
    contacts: list[Contact] = []
