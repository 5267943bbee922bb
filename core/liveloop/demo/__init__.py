"""``liveloop demo``: a restaurant concierge run end to end through the real plugins."""

from .concierge import CALLER_LINES, GREETING, Bookings, concierge_app
from .run import DemoError, DemoResult, run_demo

__all__ = [
    "CALLER_LINES",
    "GREETING",
    "Bookings",
    "DemoError",
    "DemoResult",
    "concierge_app",
    "run_demo",
]
