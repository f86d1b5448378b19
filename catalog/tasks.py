"""Celery tasks of the catalog package: food-safety papers' expiry reminders (docs/papers.md).

`remind_expiring_papers` (beat, hourly) finds the documents due a reminder and queues one mail per
document and threshold (`catalog.papers.remind_expiring_papers`); `send_paper_reminder` mails the
operators of the product's station, each in their language, once (`shop.mail.send_once`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from celery import shared_task
from flask_babel import gettext as _
from flask_babel import ngettext

from catalog.papers import ProductDocument, kind_label
from catalog.papers import remind_expiring_papers as find_due
from shop.auth.models import Role, User
from shop.db import commit
from shop.extensions import db
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import in_language_of, send_once
from shop.timeutil import now_utc

log = logging.getLogger(__name__)


@shared_task(name="catalog.tasks.remind_expiring_papers")
def remind_expiring_papers() -> int:
    """Beat (hourly): queue the expiry reminders now due; returns how many documents get one."""
    due = find_due(now=now_utc())
    commit()
    if due:
        log.info("paper reminders queued for %d documents", len(due))
    return len(due)


@shared_task(
    name="catalog.tasks.send_paper_reminder",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def send_paper_reminder(self, document_id: int, threshold: int, days_left: int) -> int:
    """Mail the station's operators that a document expires in `days_left` days; once per document,
    threshold and operator (the key), whatever the deliveries. Returns how many mails were sent."""
    document = db.session.get(ProductDocument, document_id)
    if document is None:
        return 0
    product = document.product
    operators = db.session.scalars(
        sa.select(User).where(User.role == Role.OPERATOR, User.station_id == product.station_id).order_by(User.id)
    ).all()
    mails = []
    for user in operators:
        with in_language_of(user):
            what = dict(name=product.name, kind=kind_label(document.kind), day=document.valid_until.isoformat())
            subject = _("「%(name)s」的%(kind)s将于 %(day)s 到期", **what)
            body = "\n".join(
                [
                    _("商品: %(name)s", name=product.name),
                    _("证件: %(kind)s %(number)s", kind=what["kind"], number=document.number),
                    ngettext(
                        "有效期至: %(day)s（还有 %(num)s 天）",
                        "有效期至: %(day)s（还有 %(num)s 天）",
                        days_left,
                        day=what["day"],
                    ),
                    _("到期后商品将暂停销售。请在到期前上传新的证件，经县扶贫办审核后继续销售。"),
                ]
            )
        mails.append((f"paper-reminder:{document.id}:{threshold}:{user.id}", user.email, subject, body))
    db.session.commit()  # end the read transaction before the mail's own short ones
    return sum(1 for key, to, subject, body in mails if send_once(key, to, subject, body))
