"""Intervals as crons: procrastinate schedules periodic jobs by cron only.

An interval keeps its promise ("every N seconds") only when N divides the next larger
unit evenly: `*/45` in the minute field fires at :00 and :45, 15 minutes apart. So an
interval must divide a minute (seconds), an hour (whole minutes) or a day (whole hours).
"""

from __future__ import annotations

MINUTE, HOUR, DAY = 60, 3600, 86400


def interval_cron(seconds: int) -> str:
    """The cron (six fields, seconds last, as croniter reads it) firing every `seconds`.

    Raises ValueError for an interval no cron can keep.
    """
    if seconds < MINUTE and seconds >= 1 and MINUTE % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % MINUTE == 0 and seconds < HOUR and HOUR % seconds == 0:
        return f"*/{seconds // MINUTE} * * * * 0"
    if seconds % HOUR == 0 and seconds < DAY and DAY % seconds == 0:
        return f"0 */{seconds // HOUR} * * * 0"
    if seconds == DAY:
        return "0 0 * * * 0"
    raise ValueError(
        f"{seconds} s is no interval a cron can keep: use a divisor of 60 seconds, "
        "a divisor of 60 minutes (in seconds: 60, 120, …, 1800) or of 24 hours "
        "(3600, 7200, …, 43200), or 86400"
    )
