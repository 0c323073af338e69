"""Every model module, imported once so the metadata (and Alembic) sees all tables."""

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.auth.models import ApiToken, Group, User, UserRole, UserSession
from governance.engine.models import Execution, StepAttempt, StepRun, Workflow, WorkflowVersion
from governance.evidence.models import EvidencePack
from governance.notifications.models import Notification
from governance.policies.models import Policy, PolicyReview, PolicyRevision
from governance.policy_exceptions.models import PolicyException
from governance.queues.models import Consumer, JobCounter, JobRecord, MonitorAlert
from governance.tasks.models import Task
from governance.webhooks.models import WebhookDelivery

__all__ = [
    "AckCampaign",
    "Acknowledgement",
    "ApiToken",
    "ApprovalRequest",
    "AuditEvent",
    "Consumer",
    "EvidencePack",
    "Execution",
    "Group",
    "JobCounter",
    "JobRecord",
    "MonitorAlert",
    "Notification",
    "Policy",
    "PolicyException",
    "PolicyReview",
    "PolicyRevision",
    "StepAttempt",
    "StepRun",
    "Task",
    "User",
    "UserRole",
    "UserSession",
    "WebhookDelivery",
    "Workflow",
    "WorkflowVersion",
]
