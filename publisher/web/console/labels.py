"""Translated labels for enum values, available to console templates as `labels`."""

from __future__ import annotations

from ...services.public import IMPACT_LABELS, INCIDENT_STATUS_LABELS, STATUS_LABELS
from ...services.roster import ROLE_LABELS


class Labels:
    @staticmethod
    def impact(value) -> str:
        return str(IMPACT_LABELS.get(value, value))

    @staticmethod
    def incident_status(value) -> str:
        return str(INCIDENT_STATUS_LABELS.get(value, value))

    @staticmethod
    def component_status(value) -> str:
        return str(STATUS_LABELS.get(value, value))

    @staticmethod
    def roster_role(value) -> str:
        return str(ROLE_LABELS.get(value, value))


labels = Labels()
