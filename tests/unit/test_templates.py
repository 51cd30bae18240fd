"""Templates: only the documented fields, bare; rendering never formats and is capped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import azsyncd.targets.registry  # noqa: F401  (declares the targets' tables)
from azsyncd.config import target_kinds, templates
from azsyncd.config.model import Lifecycle, WelcomeEmail
from azsyncd.config.templates import GROUP_NAME_FIELDS, WELCOME_FIELDS, check, render

MINIMAL = {
    "happyfox": {
        "base_url": "https://acme.happyfox.com",
        "api_key_file": "k",
        "auth_code_file": "c",
    },
    "freshservice": {"domain": "acme", "api_key_file": "k"},
}


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{", "write a literal brace as {{"),
        ("Left: }", "write a literal brace as {{"),
        ("{tenant:>200000000}", "format spec"),
        ("{tenant!r}", "format spec or conversion"),
        ("{tenant.__class__.__mro__}", "no attribute or index"),
        ("{tenant[0]}", "no attribute or index"),
        ("{0}", "is not a field"),
        ("{}", "is not a field"),
        ("{tennant}", 'did you mean "{tenant}"'),
    ],
)
def test_a_template_holds_only_bare_documented_fields(template: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        check(template, GROUP_NAME_FIELDS)
    assert says in str(refused.value)
    with pytest.raises(ValidationError, match="group_name"):
        Lifecycle(group_name=template)
    with pytest.raises(ValidationError, match="subject"):
        WelcomeEmail(subject=template.replace("tenant", "account"))
    for kind in ("happyfox", "freshservice"):  # the targets' own group names
        settings = target_kinds.get(kind)
        assert settings is not None
        with pytest.raises(ValidationError, match="group_name"):
            settings.settings.model_validate({**MINIMAL[kind], "group_name": template})


def test_documented_templates_render_with_braces_kept() -> None:
    assert render("Left {{old}}: {tenant}", {"tenant": "Contoso"}) == "Left {old}: Contoso"
    subject = WelcomeEmail(subject="{name}, welcome to {account}").subject
    values = {"name": "Ann", "email": "a@x", "portal_url": "u", "account": "Desk"}
    assert render(subject, values) == "Ann, welcome to Desk"


@given(st.text(max_size=60), st.text(max_size=5000), st.integers(0, 400))
def test_rendering_never_exceeds_its_cap_and_never_formats(
    literal: str, value: str, limit: int
) -> None:
    template = literal.replace("{", "{{").replace("}", "}}") + "{tenant}"
    out = render(template, {"tenant": value}, limit)
    assert len(out) <= limit
    assert out == (literal + value)[:limit]


@given(st.text(max_size=40))
def test_any_text_is_either_refused_or_rendered_within_the_cap(template: str) -> None:
    try:
        check(template, GROUP_NAME_FIELDS)
    except ValueError:
        return
    assert len(render(template, {"tenant": "x" * 10_000})) <= templates.MAX_LINE


def test_the_welcome_fields_are_the_ones_the_mailer_fills() -> None:
    from azsyncd.sync.welcome import DEFAULT_TEMPLATE

    check(DEFAULT_TEMPLATE, WELCOME_FIELDS)
