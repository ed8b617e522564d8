"""The one way a command stops on a user's mistake: the message once on the console, as
its last line, and once in the run's log file."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn


def fail(message: str, exit_code: int = 2, logger: str = "dlzoo") -> NoReturn:
    """Write ``message`` to the log files, print it last on stderr, exit with
    ``exit_code``. (Logged to the console as well, it would show twice.)"""
    log = logging.getLogger(logger)
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, "%s", (message,), None)
    for handler in logging.getLogger().handlers + log.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    print(f"\nerror: {message}", file=sys.stderr)
    sys.exit(exit_code)
