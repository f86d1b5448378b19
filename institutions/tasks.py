"""Celery tasks of institutional buying: the mails of a purchase's steps and of an organisation's
verification (`services.notices` enqueues them after the commit).

A task takes ids, loads and only reads: the step was committed by the request. It writes each mail in
its recipient's language (`shop.mail.in_language_of`, Chinese when the account has none) and sends it once per
task id (`shop.mail.send_once`; `notify_approvers`, one task for all the approvers, once per task id and
approver, `shop.mail.send_many`), however often the outbox or a redelivery runs it. Links are built
from SITE_URL (`shop.urls.external_url`).
"""

from __future__ import annotations

from celery import shared_task
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from institutions.models import MemberRole, Organisation, OrganisationStatus, Purchase, PurchaseOrder, PurchaseStatus
from institutions.services import purchases
from institutions.services.notices import PurchaseEvent
from institutions.services.organisations import approvers, managers, membership
from shop.auth.models import User
from shop.extensions import db
from shop.filters import local_dt
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import Mail, MailsLeft, in_language_of, send_many, send_once, task_mail_key
from shop.money import format_yuan
from shop.urls import external_url


@shared_task(
    name="institutions.tasks.notify_purchase",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def notify_purchase(self, purchase_id: int, event: str, user_id: int, reason: str = "") -> None:
    """Mail `user_id` the `event` of the purchase (`services.notices.PurchaseEvent`); `reason`: a return's."""
    purchase = db.session.get(
        Purchase,
        purchase_id,
        options=[selectinload(Purchase.orders).joinedload(PurchaseOrder.order), selectinload(Purchase.destinations)],
    )
    user = db.session.get(User, user_id)
    mail = purchase_mail(purchase, event, user, reason) if purchase is not None and user is not None else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is not None:
        send_once(task_mail_key(self), *mail)


@shared_task(
    name="institutions.tasks.notify_approvers",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def notify_approvers(self, purchase_id: int, event: str = PurchaseEvent.SUBMITTED, order_id: int | None = None) -> None:
    """Mail every approver of the purchase's organisation (`organisations.approvers`, read now) its
    `event`, each in their own language: one task for the step, however many approve. `submitted`: it
    waits for them (nothing when it was decided meanwhile); `order_canceled`: its order `order_id` was
    canceled by its buyer, by whom and when (`purchases.canceled_orders`; nothing unless it is one of its
    orders and canceled). Each mail is sent once per task id and approver (its key: the task's, then the
    account's id), so a run again after some were not sent (SMTP trouble: `MailsLeft`, retried) sends
    only those."""
    purchase = db.session.get(Purchase, purchase_id)
    mails: list[Mail] = []
    canceled = None
    if purchase is not None and event == PurchaseEvent.ORDER_CANCELED:
        canceled = next((po for po in purchase.orders if po.order_id == order_id), None)
        news = canceled is not None and canceled.order_id in purchases.canceled_orders(purchase)
    else:
        news = purchase is not None and event == PurchaseEvent.SUBMITTED and purchase.status == PurchaseStatus.SUBMITTED
    if purchase is not None and news:
        key = task_mail_key(self)
        for user in approvers(purchase.organisation_id):
            if user.email:
                mails.append(
                    Mail(f"{key}:{user.id}" if key else None, *_written(purchase, event, user, placed=canceled))
                )
    db.session.commit()  # end the read transaction before the mails' own short ones
    left = send_many(mails)
    if left:
        raise MailsLeft(f"{len(left)} of {len(mails)} approvers' mails of purchase {purchase_id} not sent yet")


@shared_task(
    name="institutions.tasks.notify_organisation",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def notify_organisation(self, organisation_id: int, status: str) -> None:
    """Mail every manager of the organisation (`organisations.managers`, read now) the county office's
    decision that made it `status` (verified, or not with its reason and a link to correct it), each in
    their own language, once per task id and manager. Nothing when its status has changed meanwhile (a
    rejected registration already corrected and submitted again)."""
    organisation = db.session.get(Organisation, organisation_id)
    mails: list[Mail] = []
    if organisation is not None and organisation.status == status:
        key = task_mail_key(self)
        for user in managers(organisation.id):
            if user.email:
                mails.append(Mail(f"{key}:{user.id}" if key else None, *organisation_mail(organisation, user)))
    db.session.commit()  # end the read transaction before the mails' own short ones
    left = send_many(mails)
    if left:
        raise MailsLeft(f"{len(left)} of {len(mails)} managers' mails of organisation {organisation_id} not sent yet")


def organisation_mail(organisation: Organisation, user: User) -> tuple[str, str, str]:
    """(address, subject, text) of the mail telling `user` the county office's decision, in their language."""
    with in_language_of(user):  # no request here: the recipient's language
        if organisation.status == OrganisationStatus.APPROVED:
            subject = _("[乡村e线] 单位「%(name)s」已通过审核", name=organisation.name)
            lines = [
                _("扶贫办已审核通过%(name)s的登记，本单位可以采购了。", name=organisation.name),
                _("请在单位页面添加采购员，由采购员新建采购单: %(url)s", url=_organisation_url(organisation)),
            ]
        else:
            subject = _("[乡村e线] 单位「%(name)s」的登记未通过审核", name=organisation.name)
            lines = [
                _("扶贫办未通过%(name)s的登记。", name=organisation.name),
                _("原因: %(reason)s", reason=organisation.decision_reason),
                _(
                    "请按原因修改登记信息后重新提交审核: %(url)s",
                    url=external_url("institutions.resubmit", organisation_id=organisation.id),
                ),
            ]
    return user.email, subject, "\n".join(lines)


def _organisation_url(organisation: Organisation) -> str:
    return external_url("institutions.detail", organisation_id=organisation.id)


def purchase_mail(purchase: Purchase, event: str, user: User, reason: str = "") -> tuple[str, str, str] | None:
    """(address, subject, text) of the mail, in `user`'s language; None when there is nothing to say:
    no address, an account no longer a member of the organisation (removed, or left: the purchase is a 404
    for it, and so would be the mail's link), or a request to decide that is moot (decided already, the
    account no longer one of the organisation's approvers). (A submitted purchase is `notify_approvers`'s;
    `notify_purchase` still mails one approver for a message queued before that task was.)"""
    if not user.email or not user.is_active_account:
        return None
    member = membership(purchase.organisation_id, user)
    if member is None:
        return None
    if event == PurchaseEvent.SUBMITTED:
        if purchase.status != PurchaseStatus.SUBMITTED or member.role != MemberRole.APPROVER:
            return None
    elif event not in (PurchaseEvent.RETURNED, PurchaseEvent.APPROVED):
        return None
    return _written(purchase, event, user, reason)


def _written(
    purchase: Purchase, event: str, user: User, reason: str = "", *, placed: PurchaseOrder | None = None
) -> tuple[str, str, str]:
    """(address, subject, text) of the `event` mail to `user`, in their language (`placed`: the order
    an `order_canceled` mail names)."""
    with in_language_of(user):  # no request here: the recipient's language
        if event == PurchaseEvent.SUBMITTED:
            subject = _("[乡村e线] 采购单 %(id)s 待审批", id=purchase.id)
            lines = _submitted_lines(purchase)
        elif event == PurchaseEvent.ORDER_CANCELED and placed is not None:
            subject = _("[乡村e线] 采购单 %(id)s 的订单 %(code)s 已取消", id=purchase.id, code=placed.order.code)
            lines = _order_canceled_lines(purchase, placed)
        elif event == PurchaseEvent.RETURNED:
            subject = _("[乡村e线] 采购单 %(id)s 被退回", id=purchase.id)
            lines = _returned_lines(purchase, reason)
        else:
            subject = _("[乡村e线] 采购单 %(id)s 已审批通过", id=purchase.id)
            lines = _approved_lines(purchase)
    return user.email, subject, "\n".join(lines)


def _submitted_lines(purchase: Purchase) -> list[str]:
    buyer = purchase.created_by
    lines = [
        _(
            "%(buyer)s 提交了%(organisation)s的采购单 %(id)s，等待您审批。",
            buyer=(buyer.name or buyer.email) if buyer is not None else "",
            organisation=purchase.organisation.name,
            id=purchase.id,
        ),
        _("要求送达日期: %(date)s", date=purchase.requested_date.isoformat()),
    ]
    if purchase.note:
        lines.append(_("备注: %(note)s", note=purchase.note))
    lines.append(_("查看并审批: %(url)s", url=external_url("institutions.purchase_detail", purchase_id=purchase.id)))
    return lines


def _returned_lines(purchase: Purchase, reason: str) -> list[str]:
    return [
        _(
            "您为%(organisation)s提交的采购单 %(id)s 被审批人退回。",
            organisation=purchase.organisation.name,
            id=purchase.id,
        ),
        _("退回原因: %(reason)s", reason=reason),
        _(
            "修改后可再次提交审批: %(url)s",
            url=external_url("institutions.edit_purchase", purchase_id=purchase.id),
        ),
    ]


def _order_canceled_lines(purchase: Purchase, placed: PurchaseOrder) -> list[str]:
    canceled = purchases.canceled_orders(purchase)[placed.order_id]
    who = canceled.by
    where = (
        next((d.label for d in purchase.destinations if d.id == placed.destination_id), "")
        if placed.destination_id
        else _("到站自提")
    )
    return [
        _(
            "%(who)s 于 %(when)s 取消了%(organisation)s采购单 %(id)s 的订单 %(code)s（%(where)s，%(total)s）。",
            who=(who.name or who.email) if who is not None else _("商城"),
            when=local_dt(canceled.at),
            organisation=purchase.organisation.name,
            id=purchase.id,
            code=placed.order.code,
            where=where,
            total=format_yuan(placed.order.total_fen),
        ),
        _("查看采购单: %(url)s", url=external_url("institutions.purchase_detail", purchase_id=purchase.id)),
    ]


def _approved_lines(purchase: Purchase) -> list[str]:
    labels = {d.id: d.label for d in purchase.destinations}
    lines = [
        _(
            "您为%(organisation)s提交的采购单 %(id)s 已审批通过，已生成以下订单:",
            organisation=purchase.organisation.name,
            id=purchase.id,
        )
    ]
    for placed in purchase.orders:
        order = placed.order
        lines.append(
            _(
                "%(where)s: 订单 %(code)s %(total)s %(url)s",
                where=labels.get(placed.destination_id or 0) or _("到站自提"),
                code=order.code,
                total=format_yuan(order.total_fen),
                url=external_url("orders.order_detail", code=order.code),
            )
        )
    lines.append(_("查看采购单: %(url)s", url=external_url("institutions.purchase_detail", purchase_id=purchase.id)))
    return lines
