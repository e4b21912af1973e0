"""Worker processes that do not outlive the process that started them.

A pool's workers only notice their parent is gone when they next talk to it; a
parent killed outright (``kill -9``, out of memory) leaves idle workers, and the
resource tracker they keep open, running forever. Each worker therefore
watches its parent from a daemon thread and exits once it has been re-parented.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 1.0


def exit_with_parent(poll_seconds: float = POLL_SECONDS) -> None:
    """Call in a pool initializer: the worker exits within ``poll_seconds`` of its parent's death."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
