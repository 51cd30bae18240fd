"""httpx's and httpcore's errors become azsync's NetworkError in one place (network.py), from
any transport: outbound's own, httpx's, or a test's. Nothing else in azsync catches them."""

from __future__ import annotations

import ast
from pathlib import Path

import httpcore
import httpx
import pytest

from azsyncd import network, outbound
from azsyncd.errors import NetworkError

ROOT = Path(__file__).parents[2]


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (httpx.ConnectError("refused"), "unreachable"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.RemoteProtocolError("closed mid-answer"), "unreachable"),
        (httpcore.ReadError("reset by peer"), "unreachable"),
        (httpcore.PoolTimeout("no connection free"), "timeout"),
        (httpcore.ConnectError("cannot resolve the host x.invalid (Name unknown)"), "dns"),
        (
            httpcore.ConnectError("the TLS certificate of x was not trusted (self-signed)"),
            "tls_untrusted",
        ),
    ],
)
def test_every_library_failure_is_a_network_error_naming_the_host(
    raised: Exception, code: str
) -> None:
    client = outbound.client(deadline=5, timeout=httpx.Timeout(5), transport=_raising(raised))
    with pytest.raises(NetworkError) as caught:
        client.get("https://graph.example.test/v1.0/users")
    error = caught.value
    assert error.code == code and error.host == "graph.example.test"
    assert "graph.example.test" in error.message and error.fix
    assert error.kind == type(raised).__name__ and error.__cause__ is raised
    assert error.lasting == (code in ("dns", "tls_untrusted"))


def test_a_temporary_name_failure_is_worth_a_retry() -> None:
    error = network.failure(
        httpcore.ConnectError(
            "cannot resolve the host x.test (Temporary failure in name resolution)"
        ),
        "https://x.test/",
    )
    assert error.code == "dns" and not error.lasting


def test_an_http_status_is_an_answer_not_a_failure() -> None:
    client = outbound.client(
        deadline=5,
        timeout=httpx.Timeout(5),
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
    )
    assert client.get("https://x.test/").status_code == 503


def _catches_library_errors(source: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            text = ast.unparse(node.type)
            if "httpx." in text or "httpcore." in text:
                found.append(f"{source.relative_to(root)}:{node.lineno}: except {text}")
    return found


def test_no_module_but_network_catches_httpx_or_httpcore_errors() -> None:
    found = [
        line
        for source in sorted((ROOT / "azsyncd").rglob("*.py"))
        if source.name != "network.py" or source.parent.name != "azsyncd"
        for line in _catches_library_errors(source)
    ]
    assert found == []


def test_the_check_sees_a_catch(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("try:\n    pass\nexcept (httpx.ReadTimeout, ValueError):\n    pass\n")
    assert _catches_library_errors(source, tmp_path) == [
        "x.py:3: except (httpx.ReadTimeout, ValueError)"
    ]
