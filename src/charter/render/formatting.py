"""Numbers and times as people read them, for every page Charter draws."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = ["format_number", "format_time"]


def format_number(value: float | int) -> str:
    """Numbers as people read them: integers whole, others to 4 significant digits."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return format_number(int(value))
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    if abs(value) >= 0.001:
        return f"{value:.4g}"
    return f"{value:.3e}"


def format_time(value: Any) -> str | None:
    """An epoch float, datetime or ISO string as ``YYYY-MM-DD HH:MM UTC``."""
    if value is None:
        return None
    when: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, (int, float)):
        when = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if when is None:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
