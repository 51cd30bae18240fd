"""One httpx client per tenant for identity and Graph traffic alike: same proxy, same trust."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from azsyncd import outbound
from azsyncd.errors import AuthError


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's trust store (which honours $SSL_CERT_FILE), plus the tenant's CA bundle."""
    context = ssl.create_default_context()
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise AuthError(
                "ca_bundle",
                f"cannot use ca_bundle {ca_bundle}: {getattr(exc, 'strerror', None) or exc}",
                "point ca_bundle at a readable PEM file of the CA certificates to trust",
            ) from None
    return context


class UnixSocketTransport(httpx.BaseTransport):
    """Every request, its host kept, as plain HTTP to one Unix socket: a run in its own
    process reaching the demo daemon's simulated directory (``demo/relay.py``)."""

    def __init__(self, path: str) -> None:
        self._inner = httpx.HTTPTransport(uds=path)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# A Graph page of 999 users takes seconds; far longer means the answer is stuck or dripping.
CALL_DEADLINE = 120.0
MAX_ANSWER = 50 * outbound.MB  # Graph's answers, identity's too


def make_http(
    ca_bundle: str | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 60.0,
) -> httpx.Client:
    """The tenant's client: every call ends by its deadline, or when the daemon stops."""
    return outbound.client(
        ssl_context=tls_context(ca_bundle),
        deadline=CALL_DEADLINE,
        timeout=httpx.Timeout(timeout, connect=10.0),
        transport=transport,
        max_answer=MAX_ANSWER,
        headers={"User-Agent": "azsync"},
    )


class MsalHttp:
    """An httpx.Client shaped the way msal expects of its ``http_client``.

    msal sends a certificate's signed client assertion as *bytes* in the form data; httpx
    would encode a bytes form value as its repr (``b'eyJ...'``) and break the JWT.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def _text_form(data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in data.items()}
        return data

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        kwargs.pop("verify", None)
        kwargs.pop("proxies", None)
        return self._client.post(
            url,
            params=params,
            data=self._text_form(data),
            headers=headers,
            timeout=kwargs.pop("timeout", httpx.USE_CLIENT_DEFAULT),
        )

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        return self._client.get(
            url,
            params=params,
            headers=headers,
            timeout=kwargs.pop("timeout", httpx.USE_CLIENT_DEFAULT),
        )

    def close(self) -> None:
        pass  # the owner of the httpx.Client closes it
