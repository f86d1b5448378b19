"""The audit log: who did what to which record, when. Append-only.

Used for reveals of household personal data, benefit-link changes, approvals and the like.
Status changes of orders, shipments, payments and bookings go to `shop.history` instead.

Read on the admin's 操作日志 (`/admin/audit`, every entry) and the county office's (`/county/audit`, the
actions on the office's records, `COUNTY_ACTIONS`): `search_audit`, `export_audit`. An entry holds no personal
data — field names, ids and staff-typed reasons, never a revealed value — and the pages show none
(`shown_detail`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, mapped_column

from shop.auth.models import User
from shop.columns import fk, pk
from shop.errors import N_
from shop.extensions import db
from shop.timeutil import local_midnight_utc


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = pk()
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    #: A dotted verb: 'household.reveal', 'benefit_link.update', 'product.approve', ...
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    #: What was touched (field names, old/new values that are not personal data).
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime]


def record_audit(*, actor, action: str, subject, detail: dict | None = None, now: datetime) -> AuditEntry:
    """Append one audit entry (flushes; the caller commits)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        detail=detail or {},
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


# --- reading the log (系统管理 and the county office's 操作日志) -------------------------------------------

#: Every action the shop records, with what the log page calls it (msgids of the shop's catalogue), in the
#: order the page's select offers them. A new `record_audit(action=...)` gets its label here
#: (tests/shop/test_audit_log.py walks the call sites); an unlabelled one is shown by its code.
ACTION_LABELS: dict[str, str] = {
    "household.create": N_("登记农户"),
    "household.update": N_("修改农户信息"),
    "household.status": N_("变更农户状态"),
    "household.reveal": N_("查看农户个人信息"),
    "payment_account.update": N_("登记收款账户"),
    "payment_account.reveal": N_("查看收款账号"),
    "benefit_link.update": N_("修改联农带农关系"),
    "benefit.record": N_("登记工资、分红或租金"),
    "payout.create": N_("生成收益发放批次"),
    "payout.export": N_("导出收益发放批次"),
    "payout.result": N_("导入发放结果"),
    "product.approve": N_("认定产品"),
    "product.reject": N_("退回产品"),
    "product.resubmit": N_("重新提交产品"),
    "product.update": N_("修改产品"),
    "product.photo": N_("更换产品照片"),
    "product.change.request": N_("申请修改产品"),
    "product.change.withdraw": N_("撤回产品修改"),
    "product.change.approve": N_("认定产品修改"),
    "product.change.reject": N_("退回产品修改"),
    "product_family.update": N_("修改产品系列"),
    "document.upload": N_("上传产品资质"),
    "document.approve": N_("通过产品资质"),
    "document.reject": N_("退回产品资质"),
    "lot.recall": N_("召回批次"),
    "lot.recall_refund": N_("召回退款"),
    "review.hide": N_("隐藏评价"),
    "organisation.approve": N_("通过单位审核"),
    "organisation.reject": N_("退回单位登记"),
    "organisation.resubmit": N_("重新提交单位登记"),
    "organisation.member": N_("变更单位成员"),
    "organisation.member_remove": N_("移出单位成员"),
    "organisation.member_leave": N_("成员退出单位"),
    "organisation.member_rights": N_("更改单位成员的权限"),
    "organisation.budget": N_("设置单位预算"),
    "purchase.approve": N_("批准采购"),
    "purchase.reject": N_("退回采购"),
    "purchase.delete": N_("删除采购草稿"),
    "quote.answer": N_("报价"),
    "quote.accept": N_("接受报价"),
    "quote.decline": N_("拒绝报价"),
    "invoice.request": N_("申请发票"),
    "invoice.issue": N_("开具发票"),
    "invoice.red": N_("开具红字发票"),
    "payment.bank_transfer": N_("登记银行转账"),
    "listing.create": N_("新建接待项目"),
    "listing.update": N_("修改接待项目"),
    "listing.place": N_("修改接待项目位置"),
    "listing.photo_add": N_("添加接待项目照片"),
    "listing.photo_remove": N_("删除接待项目照片"),
    "unit_type.create": N_("新建房型或票种"),
    "unit_type.update": N_("修改房型或票种"),
    "session.add": N_("添加场次"),
    "session.remove": N_("删除场次"),
    "user.create": N_("创建账号"),
    "user.role": N_("更改角色"),
    "user.deactivate": N_("停用账号"),
    "user.reactivate": N_("启用账号"),
    "user.setup_link": N_("重新发送设置密码链接"),
    "category.create": N_("新建产品分类"),
    "category.update": N_("修改产品分类"),
    "village.create": N_("新建村"),
    "village.update": N_("修改村"),
    "station.create": N_("新建服务站点"),
    "station.update": N_("修改服务站点"),
}
#: What the county office's log shows (docs/auth.md "Who sees what"): the actions on the office's own
#: records — the registry and its personal data, payment accounts and payouts, benefit links and records,
#: approvals of products, papers and organisations, recalls, hidden reviews — whoever made them (an admin's
#: reveal of a household's ID number is the office's business too). Accounts and the admin's places are not.
COUNTY_ACTIONS: frozenset[str] = frozenset(
    action
    for action in ACTION_LABELS
    if action.split(".")[0]
    in ("household", "payment_account", "benefit_link", "benefit", "payout", "document", "lot", "review")
) | {
    "product.approve",
    "product.reject",
    "product.resubmit",
    "product.change.request",
    "product.change.withdraw",
    "product.change.approve",
    "product.change.reject",
    "organisation.approve",
    "organisation.reject",
    "organisation.resubmit",
}
#: The records an entry is about (its `subject_type`, a table), as the subject filter offers them.
SUBJECT_LABELS: dict[str, str] = {
    "households": N_("农户"),
    "benefit_records": N_("收益登记"),
    "payout_batches": N_("发放批次"),
    "products": N_("产品"),
    "product_families": N_("产品系列"),
    "product_documents": N_("产品资质"),
    "lots": N_("批次"),
    "reviews": N_("评价"),
    "organisations": N_("单位"),
    "purchases": N_("采购"),
    "quote_requests": N_("询价"),
    "invoices": N_("发票"),
    "orders": N_("订单"),
    "listings": N_("接待项目"),
    "unit_types": N_("房型或票种"),
    "users": N_("用户账号"),
    "categories": N_("产品分类"),
    "villages": N_("村"),
    "stations": N_("服务站点"),
}
#: Keys an entry's detail never shows, should a caller ever have written one: a household's personal data
#: (the log holds field names, never their values; `household.reveal` names the field revealed).
PERSONAL_KEYS = frozenset({"head_name", "id_number", "phone", "registry_no", "account_no", "account_number"})
PER_PAGE = 50
#: At most this many entries in one CSV (the newest matching); the page says to narrow the filter beyond.
EXPORT_MAX = 10_000


@dataclass
class AuditQuery:
    """The log page's filters. `actions` is what the reader may see (None: everything)."""

    action: str = ""
    #: Part of the acting account's e-mail.
    actor: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = PER_PAGE
    actions: frozenset[str] | None = None


def _filtered(q: AuditQuery, actor):
    query = sa.select(AuditEntry, actor.email).outerjoin(actor, actor.id == AuditEntry.actor_id)
    if q.actions is not None:
        query = query.where(AuditEntry.action.in_(sorted(q.actions)))
    if q.action:
        query = query.where(AuditEntry.action == q.action)
    text = "".join(ch for ch in q.actor if ch.isprintable()).strip().lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(actor.email.like(like, escape="\\"))
    if q.subject_type:
        query = query.where(AuditEntry.subject_type == q.subject_type)
    if q.subject_id is not None:
        query = query.where(AuditEntry.subject_id == q.subject_id)
    if q.date_from is not None:
        query = query.where(AuditEntry.created_at >= local_midnight_utc(q.date_from))
    if q.date_to is not None:
        query = query.where(AuditEntry.created_at < local_midnight_utc(q.date_to + timedelta(days=1)))
    return query


def count() -> int:
    """How many entries the log holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0


def search_audit(q: AuditQuery) -> tuple[list[tuple[AuditEntry, str | None]], int]:
    """One page of entries matching `q`, newest first, each with the acting account's e-mail (None where no
    account acted: `flask` commands and the demo data), and how many match in all. Two statements."""
    actor = aliased(User)
    query = _filtered(q, actor)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(q.per_page)
        .offset((max(q.page, 1) - 1) * q.per_page)
    ).all()
    return [(entry, email) for entry, email in rows], total


def export_audit(q: AuditQuery) -> list[tuple[AuditEntry, str | None]]:
    """The newest EXPORT_MAX entries matching `q` (the page's filters, every page), newest first."""
    actor = aliased(User)
    rows = db.session.execute(
        _filtered(q, actor).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(EXPORT_MAX)
    ).all()
    return [(entry, email) for entry, email in rows]


def shown_detail(entry: AuditEntry) -> dict:
    """What the page and the export show of an entry's detail: everything but PERSONAL_KEYS."""
    return {k: v for k, v in (entry.detail or {}).items() if k not in PERSONAL_KEYS}
