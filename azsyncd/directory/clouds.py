"""Login and Graph hosts of each Microsoft cloud. Tokens never cross clouds."""

from __future__ import annotations

from dataclasses import dataclass

from azsyncd.config.model import Tenant


@dataclass(frozen=True)
class Cloud:
    login: str
    graph: str


CLOUDS = {
    "global": Cloud("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": Cloud("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov-dod": Cloud("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": Cloud(
        "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"
    ),
}


def cloud_for(tenant: Tenant) -> Cloud:
    if tenant.cloud == "custom":
        assert tenant.login_url and tenant.graph_url  # guaranteed by validation
        return Cloud(tenant.login_url.rstrip("/"), tenant.graph_url.rstrip("/"))
    return CLOUDS[tenant.cloud]
