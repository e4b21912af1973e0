"""Which failures a task retries: only those that may pass on their own a moment later."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError


def transient_failure(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only what may succeed a moment later: a locked database, a dropped connection, I/O hiccups."""
    try:
        state.result()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return False
    except (OperationalError, TimeoutError, ConnectionError, OSError):
        return True
    except BaseException:
        return False
    return False


RETRY = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": transient_failure}
