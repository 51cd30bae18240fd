"""Request bodies of the control API. Unknown keys are refused, so typos are seen.

A change of settings, leaver settings or a tenant is a merge patch checked by the
configuration's own models when it is applied (the answer names the configuration's keys);
its schema shows those models' keys, each optional, so the schema says what may be sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional

from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    create_model,
)

from azsyncd.config import model
from azsyncd.config.model import Tenant
from azsyncd.config.secrets import MAX_SECRET_BYTES
from azsyncd.config.text import clipped

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters: they would reach logs and files
Search = Annotated[str, Query(max_length=256, pattern=PRINTABLE)]


class Body(BaseModel):
    """A request body. Its flags and numbers are strict (``Field(strict=True)``): the schema
    says boolean or integer, so "yes", 1 or 2.5 is refused with 422, not read as true or 2."""

    model_config = ConfigDict(extra="forbid")


class SyncRequest(Body):
    dry_run: bool = Field(False, strict=True, description="Plan only: write nothing to the target")
    full: bool = Field(
        False,
        strict=True,
        description="A full reconciliation: read every user and compare each contact with the"
        " help desk's own (with dry_run: preview the whole plan)",
    )
    user: str | None = Field(
        None,
        max_length=512,
        pattern=PRINTABLE,
        description="Sync one user (UPN, email or object id), step by step",
    )
    tenant: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="Sync only this tenant"
    )
    wait: bool = Field(
        False,
        strict=True,
        description="Answer when the run has ended, with its outcome (a dry run's plan)",
    )
    timeout: float = Field(
        600,
        gt=0,
        le=3600,
        strict=True,
        description="With wait: give up waiting after this many seconds",
    )


class ApproveRequest(Body):
    timeout: float = Field(
        600,
        gt=0,
        le=3600,
        strict=True,
        description="Give up waiting for the approving run after this long",
    )


def inlined(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """A model's JSON schema with its $defs put in place (to embed it in another schema)."""
    if defs is None:
        defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [inlined(item, defs) for item in schema]
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def patch_of(
    section: type[BaseModel], *, keys: set[str] | None = None, deep: bool = False
) -> dict[str, Any]:
    """The schema of a patch of ``section``: its keys (or ``keys``), each optional; null
    removes a key. ``deep``: a merge patch (RFC 7386), applied by ``deep_merge``, where a table
    inside is a patch of that table too; otherwise each key's value replaces the old one."""
    properties = inlined(section.model_json_schema())["properties"]
    return {
        "type": "object",
        "title": f"{section.__name__} patch",
        "properties": {
            name: _nullable(_merge_patch(schema) if deep else schema)
            for name, schema in properties.items()
            if keys is None or name in keys
        },
        "additionalProperties": False,
    }


def _merge_patch(schema: Any) -> Any:
    """The schema of a merge patch of a value of ``schema``: a table's keys each optional and
    nullable, tables inside alike; lists and plain values as they are (they replace)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for word in ("anyOf", "oneOf", "allOf"):
        if word in out:
            out[word] = [_merge_patch(s) for s in out[word]]
    if "properties" in out:
        out["properties"] = {k: _nullable(_merge_patch(v)) for k, v in out["properties"].items()}
        out.pop("required", None)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _nullable(_merge_patch(out["additionalProperties"]))
    return out


def deep_merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """JSON merge patch (RFC 7386): tables merge key by key, null removes a key, anything else
    replaces. A table sent where there is none (or a plain value) is merged into an empty one,
    so a null inside it never reaches the file."""
    for key, value in values.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(into.get(key), dict):
                into[key] = {}
            deep_merge(into[key], value)
        else:
            into[key] = value


def stray_key(value: Any, schema: Any) -> tuple[str, list[str]] | None:
    """The first key in ``value`` (a dotted path) that ``schema`` has no room for, with the
    keys that were possible there; None when every key fits."""
    if not isinstance(value, dict):
        return None
    tables = [s for s in _alternatives(schema) if "properties" in s or "additionalProperties" in s]
    first = None
    for table in tables:
        found = _stray_in(value, table)
        if found is None:
            return None
        first = first or found
    return first


def _alternatives(schema: Any) -> list[dict[str, Any]]:
    if not isinstance(schema, dict):
        return []
    options = [s for word in ("anyOf", "oneOf") for s in schema.get(word, [])]
    return [leaf for s in options for leaf in _alternatives(s)] if options else [schema]


def _stray_in(value: dict[str, Any], table: dict[str, Any]) -> tuple[str, list[str]] | None:
    properties = table.get("properties", {})
    extra = table.get("additionalProperties", True)
    names = table.get("propertyNames", {})
    for key, item in value.items():
        if key not in properties and extra is False:
            return key, sorted(properties)
        if "enum" in names and key not in names["enum"]:
            return key, sorted(names["enum"])
        if len(key) > names.get("maxLength", len(key)) or len(key) < names.get("minLength", 0):
            return key, []
        found = stray_key(item, properties.get(key, extra))
        if found:
            return f"{key}.{found[0]}", found[1]
    return None


def known_keys(
    section: type[BaseModel], *, deep: bool = True
) -> Callable[[dict[str, Any] | None], dict[str, Any] | None]:
    """A check that a patch of ``section`` names only keys it has, at every depth. A null for
    an unknown key is refused too: removing a key that cannot exist is a typo, not a no-op."""
    schema = patch_of(section, deep=deep)

    def check(patch: dict[str, Any] | None) -> dict[str, Any] | None:
        found = stray_key(patch, schema)
        if found:
            path, allowed = found
            if not allowed:
                raise ValueError(f'the key "{clipped(path)}" is not a name this table takes')
            last = path.rsplit(".", 1)[-1]
            hint = model.suggest(last, allowed) or f"; known keys here: {', '.join(allowed)}"
            raise ValueError(f'unknown key "{clipped(path)}"{hint}')
        return patch

    return check


def section_patch(section: type[BaseModel], **kwargs: Any) -> Any:
    """A merge patch of ``section`` as a request field: its schema shows ``keys`` (the ones
    the API may change), and a key the section does not have is refused. A key it has but the
    API may not change gets its own answer when the patch is applied."""
    patch = patch_of(section, deep=True, **kwargs)
    return Annotated[
        dict[str, Any] | None,
        WithJsonSchema(_nullable(patch)),
        AfterValidator(known_keys(section)),
    ]


class SettingsPatch(Body):
    """Sections to change, each merged into the current one. Tenants have their own endpoints."""

    account: section_patch(model.Account) = None  # type: ignore[valid-type]
    schedule: section_patch(model.Schedule) = None  # type: ignore[valid-type]
    target: Annotated[
        dict[str, Any] | None,
        Field(description="kind, and a table per target kind: its target declares the keys"),
    ] = None
    mapping: section_patch(model.Mapping) = None  # type: ignore[valid-type]
    welcome_email: section_patch(model.WelcomeEmail) = None  # type: ignore[valid-type]
    sync: section_patch(model.Sync) = None  # type: ignore[valid-type]
    scope: section_patch(model.Scope) = Field(  # type: ignore[valid-type]
        None, description="include / exclude conditions for every tenant"
    )
    state: section_patch(model.State, keys={"history_runs"}) = Field(  # type: ignore[valid-type]
        None, description="history_runs only; database_url needs a restart"
    )
    force: bool = Field(
        False,
        strict=True,
        description="Save even if the change's preview fails more than [sync] max_fail_share"
        " of a tenant's contacts",
    )


class _TenantPatchBase(Body):
    model_config = ConfigDict(
        json_schema_extra=lambda schema: schema.update(
            patch_of(Tenant, keys=set(Tenant.model_fields) - {"name"})
        )
    )


# Every Tenant field, optional: a PATCH names only what changes.
TenantPatch: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "TenantPatch",
    __base__=_TenantPatchBase,
    **{
        name: (Optional[field.annotation], None)  # noqa: UP045 (a runtime type)
        for name, field in Tenant.model_fields.items()
        if name != "name"
    },
    # Save even if the change's preview fails too many contacts.
    force=(bool, Field(False, strict=True)),
)

RecordStatus = Literal["success", "failed", "skipped", "unchanged"]

# Secrets arrive as SecretStr: pydantic never shows them in a repr or an error.
PEM = Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_BYTES)]


class ClientSecret(Body):
    kind: Literal["client_secret"]
    client_secret: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class Certificate(Body):
    kind: Literal["certificate"]
    certificate: PEM = Field(description="The public certificate, PEM")
    private_key: PEM = Field(description="Its private key, unencrypted PEM")


class Pfx(Body):
    kind: Literal["pfx"]
    pfx: Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_BYTES * 4 // 3 + 4)] = (
        Field(description="The PFX (PKCS#12) file, base64")
    )
    passphrase: Annotated[SecretStr, Field(max_length=1024)] | None = None


Credential = Annotated[ClientSecret | Certificate | Pfx, Field(discriminator="kind")]


class NewTenant(Tenant):
    """A tenant to add, optionally with its secret (stored as by PUT .../credential)."""

    credential: Credential | None = None
