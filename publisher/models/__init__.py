"""SQLAlchemy 2.0 typed models. No Flask imports here."""

from .base import Base, new_public_id, utcnow
from .component import Component, ComponentGroup, ComponentStatusChange
from .composer import (
    SOCIAL_OUTLETS,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    MessageTemplate,
    MessageVariant,
    Outlet,
    ReviewAction,
    ReviewEvent,
)
from .enums import (
    CLOSED_STATUSES,
    Audience,
    ComponentStatus,
    Impact,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
    MessageState,
    Role,
)
from .incident import Incident, Message, MessageComponentChange, incident_component
from .page import PAGE_STATE_ID, PageState, bump_page_version
from .staff import (
    MULTI_HOLDER_ROLES,
    ApiToken,
    AuditEvent,
    RosterAssignment,
    RosterRole,
    TimelineEntry,
    TimelineKind,
)
from .subscriber import Subscriber, SubscriberKind, subscriber_component
from .user import User

__all__ = [
    "CLOSED_STATUSES",
    "MULTI_HOLDER_ROLES",
    "PAGE_STATE_ID",
    "SOCIAL_OUTLETS",
    "ApiToken",
    "Audience",
    "AuditEvent",
    "Base",
    "Channel",
    "ChannelKind",
    "Component",
    "ComponentGroup",
    "ComponentStatus",
    "ComponentStatusChange",
    "Delivery",
    "DeliveryState",
    "Impact",
    "Incident",
    "IncidentKind",
    "IncidentStatus",
    "MaintenanceStatus",
    "Message",
    "MessageComponentChange",
    "MessageState",
    "MessageTemplate",
    "MessageVariant",
    "Outlet",
    "PageState",
    "ReviewAction",
    "ReviewEvent",
    "Role",
    "RosterAssignment",
    "RosterRole",
    "Subscriber",
    "SubscriberKind",
    "TimelineEntry",
    "TimelineKind",
    "User",
    "bump_page_version",
    "incident_component",
    "new_public_id",
    "subscriber_component",
    "utcnow",
]
