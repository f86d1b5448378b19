"""Celery tasks of the county package."""

from __future__ import annotations

import logging

from celery import shared_task

from county.services.reports import previous_month, write_monthly_report
from shop.timeutil import local_date, now_utc

log = logging.getLogger(__name__)


@shared_task(name="county.tasks.monthly_income_report")
def monthly_income_report(month: str | None = None) -> str:
    """Beat, on the 1st at 03:00 Beijing: write last month's statement file (idempotent: rewrites it)."""
    month = month or previous_month(local_date(now_utc()))
    path = write_monthly_report(month)
    log.info("monthly income report written: %s", path)
    return path
