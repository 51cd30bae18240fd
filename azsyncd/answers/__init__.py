"""What the control API answers, typed once for both ends of the socket.

The API declares these as its routes' ``response_model`` (FastAPI validates every answer
against them and the OpenAPI schema shows them); ``control/client.py`` reads the JSON into
the same classes. An answer has exactly the keys its class names: the daemon cannot send a
key the class lacks (the route fails), and the client refuses an answer with a key it does
not know or without one it expects (``read``), so a field renamed on one side only fails
at once instead of reading as a default. Daemon and client ship together: there is no
older or newer side to tolerate.

Settings and tenants are the configuration's own models (``config/model.py``), with the
state and views the API adds: a key added to the configuration is in the answer too.
"""

from azsyncd.answers.alerts import Alerts, AlertTest, RaisedAlert
from azsyncd.answers.audit import AuditEntry, AuditLog
from azsyncd.answers.base import Answer, UnreadableAnswer, read
from azsyncd.answers.contacts import Contact, Contacts, Phone
from azsyncd.answers.demo import DemoUser, DemoUserAdded
from azsyncd.answers.errors import ErrorAnswer, ErrorBody, FieldProblem
from azsyncd.answers.lifecycle import (
    Finding,
    GroupRule,
    JoinerRow,
    Joiners,
    LeaverRow,
    Lifecycle,
    LifecycleSettings,
    RuleCheck,
)
from azsyncd.answers.preview import (
    Preview,
    PreviewAnswer,
    PreviewChange,
    PreviewReason,
    TenantPreview,
)
from azsyncd.answers.quality import Quality, QualityGroup
from azsyncd.answers.runs import (
    LogLine,
    Record,
    Records,
    Run,
    RunDetail,
    RunList,
    SyncOutcome,
    counts_text,
)
from azsyncd.answers.settings import (
    AccountSettings,
    AlertSettings,
    Attributes,
    Fields,
    MappingSettings,
    Reloaded,
    ScheduleSettings,
    ScopeSettings,
    Settings,
    SetupProblem,
    StateSettings,
    SyncSettings,
    TargetField,
    TargetSettings,
    WelcomeEmailSettings,
)
from azsyncd.answers.status import (
    HeldRun,
    LastTick,
    RunningSync,
    RunSummary,
    Status,
    TenantState,
)
from azsyncd.answers.target import TargetInfo, TargetKey
from azsyncd.answers.tenants import (
    Deleted,
    DeviceCode,
    Group,
    Groups,
    Tenant,
    TenantAuthorization,
    TenantList,
)
from azsyncd.answers.welcome import WelcomeResent

__all__ = [
    "AccountSettings",
    "AlertSettings",
    "AlertTest",
    "Alerts",
    "Answer",
    "Attributes",
    "AuditEntry",
    "AuditLog",
    "Contact",
    "Contacts",
    "Deleted",
    "DemoUser",
    "DemoUserAdded",
    "DeviceCode",
    "ErrorAnswer",
    "ErrorBody",
    "FieldProblem",
    "Fields",
    "Finding",
    "Group",
    "GroupRule",
    "Groups",
    "HeldRun",
    "JoinerRow",
    "Joiners",
    "LastTick",
    "LeaverRow",
    "Lifecycle",
    "LifecycleSettings",
    "LogLine",
    "MappingSettings",
    "Phone",
    "Preview",
    "PreviewAnswer",
    "PreviewChange",
    "PreviewReason",
    "Quality",
    "QualityGroup",
    "RaisedAlert",
    "Record",
    "Records",
    "Reloaded",
    "RuleCheck",
    "Run",
    "RunDetail",
    "RunList",
    "RunSummary",
    "RunningSync",
    "ScheduleSettings",
    "ScopeSettings",
    "Settings",
    "SetupProblem",
    "StateSettings",
    "Status",
    "SyncOutcome",
    "SyncSettings",
    "TargetField",
    "TargetInfo",
    "TargetKey",
    "TargetSettings",
    "Tenant",
    "TenantAuthorization",
    "TenantList",
    "TenantPreview",
    "TenantState",
    "UnreadableAnswer",
    "WelcomeEmailSettings",
    "WelcomeResent",
    "counts_text",
    "read",
]
