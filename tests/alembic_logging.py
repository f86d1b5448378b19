"""The loggers of a test that runs the migrations in process: Alembic's env.py runs
logging.fileConfig, which disables every logger that exists, so the test saves each logger's
`disabled` first and gives it back after with `restore_logging`."""

from __future__ import annotations

import logging


def restore_logging(saved: dict[str, bool]) -> None:
    """Alembic's env.py runs logging.fileConfig, which disables every existing logger; undo that
    (`saved`: logger name -> `disabled` before; a logger made since is enabled)."""
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.disabled = saved.get(name, False)
