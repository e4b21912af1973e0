"""Working days: the unit of most service commitments (a reply within N working days)."""

from __future__ import annotations

from datetime import datetime, timedelta


def working_days_after(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` working days (Monday to Friday), same clock time; public holidays are not known."""
    t, left = start, days
    while left > 0:
        t += timedelta(days=1)
        if t.weekday() < 5:
            left -= 1
    return t
