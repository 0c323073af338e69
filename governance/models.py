"""Every model module, imported once so the metadata (and Alembic) sees all tables."""

from governance.api.models import ApiToken
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.auth.models import Group, User, UserRole, UserSession
from governance.engine.models import Execution, StepAttempt, StepRun
from governance.monitor.models import Consumer, JobCounter, JobRecord, MonitorAlert
from governance.notifications.models import Notification
from governance.policies.models import Policy, PolicyRevision
from governance.tasks.models import Task
from governance.workflows.models import Workflow, WorkflowVersion

__all__ = [
    "ApiToken",
    "ApprovalRequest",
    "AuditEvent",
    "Consumer",
    "Execution",
    "Group",
    "JobCounter",
    "JobRecord",
    "MonitorAlert",
    "Notification",
    "Policy",
    "PolicyRevision",
    "StepAttempt",
    "StepRun",
    "Task",
    "User",
    "UserRole",
    "UserSession",
    "Workflow",
    "WorkflowVersion",
]
