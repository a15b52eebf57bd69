"""One update, every outlet: per-network length rules and per-outlet texts."""

from .labels import OUTLET_LABELS
from .lengths import LIMITS, OUTLETS, Measure, measure
from .variants import derive, sanitize_header_text, shorten

__all__ = [
    "LIMITS",
    "OUTLETS",
    "OUTLET_LABELS",
    "Measure",
    "derive",
    "measure",
    "sanitize_header_text",
    "shorten",
]
