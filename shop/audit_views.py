"""The 操作日志 page, one for the admin (`/admin/audit`, every entry) and one for the county office
(`/county/audit`, `shop.audit.COUNTY_ACTIONS`): the same filters, paging and CSV, read through
`shop.audit.search_audit` / `export_audit`. Each blueprint's route calls `audit_page` with what its reader
may see (docs/auth.md "Who sees what").

A filter typed wrong into the URL (a date 2026-13-45, a reversed range, an unknown action) is said on the
page (422, the filter left out); the CSV refuses it (400 with the reason): a file of the wrong entries is
worse than none."""

from __future__ import annotations

from flask import Response, abort, flash, render_template, request
from flask_babel import gettext as _

from shop.args import MAX_ID, int_or_none, page_date_arg, query_text
from shop.audit import ACTION_LABELS, EXPORT_MAX, SUBJECT_LABELS, AuditQuery, export_audit, search_audit, shown_detail
from shop.exports import to_csv
from shop.filters import local_dt


def _query(actions: frozenset[str] | None) -> tuple[AuditQuery, list[str]]:
    """The filters of this request and what was wrong with them (each said once, left out of the query)."""
    wrong: list[str] = []
    q = AuditQuery(actions=actions, actor=query_text("actor"))
    action = request.args.get("action", "").strip()
    if action:
        if action in ACTION_LABELS and (actions is None or action in actions):
            q.action = action
        else:
            wrong.append(_("未知的操作类型，已显示全部操作"))
    subject_type = request.args.get("subject_type", "").strip()
    if subject_type:
        if subject_type in SUBJECT_LABELS:
            q.subject_type = subject_type
        else:
            wrong.append(_("未知的对象类型，已显示全部对象"))
    subject_id = request.args.get("subject_id", "").strip()
    if subject_id:
        q.subject_id = int_or_none(subject_id, minimum=1, maximum=MAX_ID)
        if q.subject_id is None:
            wrong.append(_("对象编号须为正整数，已显示全部编号"))
    everything = _("已显示全部日期的记录")
    date_from, from_status = page_date_arg("from", label=_("开始日期"), instead=everything)
    date_to, to_status = page_date_arg("to", label=_("结束日期"), instead=everything)
    if 422 in (from_status, to_status):
        wrong.append("")  # page_date_arg said it already
    elif date_from and date_to and date_from > date_to:
        wrong.append(_("开始日期晚于结束日期，已显示全部日期的记录；请重新选择日期。"))
    else:
        q.date_from, q.date_to = date_from, date_to
    page = request.args.get("page", "").strip()
    q.page = int_or_none(page, minimum=1, maximum=10**6) or q.page
    return q, wrong


def audit_page(*, template: str, actions: frozenset[str] | None, export_name: str):
    """The log page (or, with `?format=csv`, its CSV) showing the entries whose action is in `actions`
    (None: all)."""
    q, wrong = _query(actions)
    fmt = request.args.get("format", "")
    if fmt:
        if fmt != "csv":
            abort(400, _("导出格式须为 csv"))
        if wrong:
            abort(400, next((w for w in wrong if w), _("日期无效")))
        return _csv(q, export_name)
    for message in wrong:
        if message:
            flash(message, "error")
    rows, total = search_audit(q)
    offered = [(k, v) for k, v in ACTION_LABELS.items() if actions is None or k in actions]
    return render_template(
        template,
        rows=[(entry, by, shown_detail(entry)) for entry, by in rows],
        total=total,
        f=q,
        page=q.page,
        pages=max(1, -(-total // q.per_page)),
        action_labels=ACTION_LABELS,
        offered_actions=offered,
        subject_labels=SUBJECT_LABELS,
        export_max=EXPORT_MAX,
    ), (422 if wrong else 200)


def _csv(q: AuditQuery, name: str) -> Response:
    columns = [
        ("at", _("时间")),
        ("action", _("操作类型")),
        ("code", _("操作代码")),
        ("by", _("操作人")),
        ("subject", _("对象")),
        ("subject_id", _("对象编号")),
        ("detail", _("详情")),
    ]
    rows = [
        {
            "at": local_dt(entry.created_at, "%Y-%m-%d %H:%M:%S"),
            "action": _(ACTION_LABELS[entry.action]) if entry.action in ACTION_LABELS else entry.action,
            "code": entry.action,
            "by": by or _("命令行"),
            "subject": _(SUBJECT_LABELS[entry.subject_type])
            if entry.subject_type in SUBJECT_LABELS
            else entry.subject_type,
            "subject_id": entry.subject_id,
            "detail": "; ".join(f"{k}={v}" for k, v in shown_detail(entry).items()),
        }
        for entry, by in export_audit(q)
    ]
    response = Response(to_csv(columns, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
