"""The household registry (建档立卡贫困户): search, create, edit, status history, reveal, import, export.

Personal data (head's name, registry number, ID number, phone) is encrypted in the database and only
ever leaves this module masked (`household_row`). `reveal()` is the one way to see a value, and each
call writes an audit entry (who, when, which field).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, selectinload

from catalog.models import HOUSEHOLD_STATUS_LABELS, Household, HouseholdStatus, HouseholdStatusChange, Village
from shop.args import parse_int
from shop.audit import record_audit
from shop.auth.models import User
from shop.auth.permissions import can_read_county
from shop.codes import typed_code, typed_number
from shop.errors import Forbidden, IllegalTransition, NotFound, ValidationError
from shop.extensions import db
from shop.personal_data import lookup_hash, mask_id_number, mask_name, mask_phone, mask_registry_no
from shop.phone import is_mobile, normalise_phone
from shop.timeutil import local_date, now_utc

log = logging.getLogger(__name__)

ID_NUMBER_RE = re.compile(r"^[0-9]{17}[0-9Xx]$")  # ASCII digits: \d takes ٣ and the like
#: GB 11643-1999: the 18th character of a resident ID number checks the first 17 (ISO 7064 MOD 11-2).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
REGISTRY_RE = re.compile(r"^[0-9A-Za-z\-]{4,40}$")

#: 贫困户 → 脱贫户 → 监测对象 (and back to 贫困户 when a monitored household falls back).
STATUS_TRANSITIONS: dict[str, set[str]] = {
    HouseholdStatus.POOR: {HouseholdStatus.LIFTED},
    HouseholdStatus.LIFTED: {HouseholdStatus.MONITORED, HouseholdStatus.POOR},
    HouseholdStatus.MONITORED: {HouseholdStatus.LIFTED, HouseholdStatus.POOR},
}
REVEALABLE = {"head_name", "registry_no", "id_number", "phone"}
#: The longest note of a status change (`HouseholdStatusChange.note`): longer is refused, never cut.
MAX_STATUS_NOTE = 255
STATUS_BY_LABEL = {label: str(status) for status, label in HOUSEHOLD_STATUS_LABELS.items()} | {
    "一般贫困户": "poor",
    "低保贫困户": "poor",
    "五保贫困户": "poor",
    "建档立卡贫困户": "poor",
    "未脱贫": "poor",
    "已脱贫": "lifted",
    "脱贫": "lifted",
    "稳定脱贫": "lifted",
    "监测户": "monitored",
    "边缘户": "monitored",
    "脱贫不稳定户": "monitored",
    "边缘易致贫户": "monitored",
}


def N_(message: str) -> str:
    """Marks a msgid for extraction without translating it: a field reason stays the stable Chinese
    text in `ValidationError.fields` (what API clients see) and is translated where it is shown
    (`{{ _(errors.x) }}` in templates/county/household_form.html, the import report)."""
    return message


def _status_label(status: str) -> str:
    return _(HOUSEHOLD_STATUS_LABELS[status]) if status in HOUSEHOLD_STATUS_LABELS else str(status)


def household_row(h: Household) -> dict:
    """The masked view of a household: the only form pages, API, exports and logs may use."""
    return {
        "id": h.id,
        "village_id": h.village_id,
        "village": h.village.name if h.village is not None else "",
        "head_name": mask_name(h.head_name),
        "registry_no": mask_registry_no(h.registry_no),
        "id_number": mask_id_number(h.id_number),
        "phone": mask_phone(h.phone),
        "members": h.members,
        "status": h.status,
        "status_label": HOUSEHOLD_STATUS_LABELS.get(h.status, h.status),
    }


def get_household(household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound("no_such_household")
    return household


#: The longest head's name the registry keeps (`_clean`), and so the longest the search by name reads.
MAX_HEAD_NAME = 40


def head_name_hash(name: str) -> str:
    """The keyed hash the search by name compares (`Household.head_name_hash`): of the name with its spaces
    removed (`lookup_hash`), so 张 建华 and 张建华 are one name; the name itself stays encrypted."""
    return lookup_hash(name)


@dataclass
class HouseholdQuery:
    village_id: int | None = None
    status: str | None = None
    #: An exact registry number (matched through its keyed hash) or part of a village name.
    q: str = ""
    #: An exact name of the head of household, spaces aside (matched through its keyed hash).
    head_name: str = ""
    page: int = 1
    per_page: int = 50


def search_households(f: HouseholdQuery) -> tuple[list[Household], int]:
    query = sa.select(Household).join(Village, Village.id == Household.village_id)
    if f.village_id:
        query = query.where(Household.village_id == f.village_id)
    if f.status:
        query = query.where(Household.status == f.status)
    if f.q:
        query = query.where(
            sa.or_(Household.registry_no_hash == lookup_hash(f.q), Village.name.contains(f.q, autoescape=True))
        )
    if f.head_name.strip():
        query = query.where(Household.head_name_hash == head_name_hash(f.head_name))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(selectinload(Household.village))
        .order_by(Village.name, Household.id)
        .limit(f.per_page)
        .offset((max(f.page, 1) - 1) * f.per_page)
    ).all()
    return list(rows), int(total)


@dataclass
class HouseholdData:
    village_id: int | None = None
    head_name: str = ""
    registry_no: str = ""
    id_number: str = ""
    phone: str = ""
    members: int | None = 1
    status: str = HouseholdStatus.POOR


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are `first17`."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(number: str) -> str | None:
    """Why an 18-character resident ID number (as `typed_code` gives it) cannot be one, or None: its
    form, its date of birth (characters 7-14) and its check character. A mistyped digit fails the check,
    which is what a household's ID is matched by when its payout or its benefits are looked into."""
    if not ID_NUMBER_RE.match(number):
        return N_("身份证号格式不正确")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or not date(1900, 1, 1) <= born <= local_date(now_utc()):
        return N_("身份证号中的出生日期不对")
    if id_check_character(number[:17]) != number[17].upper():
        return N_("身份证号校验位不对，请核对每一位")
    return None


def _clean(data: HouseholdData, *, existing: Household | None = None) -> dict[str, str]:
    """Field -> reason for every problem (empty when valid)."""
    errors: dict[str, str] = {}
    data.head_name = (data.head_name or "").strip()
    # a Chinese input method in full-width mode types ３６０１…, １３８… and Ｘ: read as ASCII, as the
    # registry-number search does, and stored in the one form the searches and the bank file expect
    data.registry_no = typed_number(data.registry_no)
    data.id_number = typed_code(data.id_number)
    data.phone = normalise_phone(data.phone) if (data.phone or "").strip() else ""
    if not data.village_id or db.session.get(Village, data.village_id) is None:
        errors["village"] = N_("缺少村或村不存在")
    if not data.head_name or len(data.head_name) > MAX_HEAD_NAME:
        errors["head_name"] = N_("缺少户主姓名")
    if not data.registry_no or not REGISTRY_RE.match(data.registry_no):
        errors["registry_no"] = N_("登记号格式不正确")
    else:
        other = db.session.scalar(
            sa.select(Household.id).where(Household.registry_no_hash == lookup_hash(data.registry_no))
        )
        if other is not None and (existing is None or other != existing.id):
            errors["registry_no"] = N_("登记号重复")
    if data.phone and not is_mobile(data.phone):
        errors["phone"] = N_("电话号码格式不正确")
    if data.id_number and (problem := id_number_problem(data.id_number)):
        errors["id_number"] = problem
    if data.members is None or not (1 <= int(data.members) <= 30):
        errors["members"] = N_("家庭人口应为1-30")
    if data.status not in {s.value for s in HouseholdStatus}:
        errors["status"] = N_("状态不正确")
    return errors


def create_household(data: HouseholdData, *, actor, now: datetime) -> Household:
    errors = _clean(data)
    if errors:
        raise ValidationError("invalid_household", fields=errors)
    assert data.members is not None  # _clean refuses a missing count
    household = Household(
        village_id=data.village_id,
        head_name=data.head_name,
        head_name_hash=head_name_hash(data.head_name),
        registry_no=data.registry_no,
        registry_no_hash=lookup_hash(data.registry_no),
        id_number=data.id_number or None,
        phone=data.phone or None,
        members=int(data.members),
        status=data.status,
        created_at=now,
    )
    db.session.add(household)
    db.session.flush()
    db.session.add(
        HouseholdStatusChange(
            household_id=household.id,
            from_status=None,
            to_status=data.status,
            effective_date=local_date(now),
            actor_id=getattr(actor, "id", None),
            note="登记",
            created_at=now,
        )
    )
    record_audit(
        actor=actor, action="household.create", subject=household, detail={"village_id": data.village_id}, now=now
    )
    return household


def update_household(household: Household, data: HouseholdData, *, actor, now: datetime) -> Household:
    """Edit registry fields (status changes go through `change_status`). Empty personal fields keep the old value."""
    data.status = household.status
    data.head_name = data.head_name or household.head_name
    data.registry_no = data.registry_no or household.registry_no
    data.id_number = data.id_number or (household.id_number or "")
    data.phone = data.phone or (household.phone or "")
    errors = _clean(data, existing=household)
    if errors:
        raise ValidationError("invalid_household", fields=errors)
    changed = []
    for name in ("village_id", "head_name", "registry_no", "id_number", "phone", "members"):
        new = getattr(data, name) or (None if name in ("id_number", "phone") else getattr(data, name))
        if getattr(household, name) != new:
            setattr(household, name, new)
            changed.append(name)
    if "registry_no" in changed:
        household.registry_no_hash = lookup_hash(data.registry_no)
    if "head_name" in changed:
        household.head_name_hash = head_name_hash(data.head_name)
    db.session.flush()
    if changed:  # field names only: never the values (personal data)
        record_audit(actor=actor, action="household.update", subject=household, detail={"fields": changed}, now=now)
    return household


def can_change_status(household: Household, to_status: str) -> bool:
    """Whether `to_status` is a legal next status of the household (what `change_status` accepts)."""
    return to_status in STATUS_TRANSITIONS.get(household.status, set())


def status_note(note: str | None) -> str:
    """A status change's note as it is kept (trimmed); longer than `MAX_STATUS_NOTE` is refused (422
    `status_note_too_long`, naming the limit), before any confirmation is asked."""
    note = (note or "").strip()
    if len(note) > MAX_STATUS_NOTE:
        raise ValidationError("status_note_too_long", fields={"note": "too_long"}, max=MAX_STATUS_NOTE)
    return note


def change_status(
    household: Household, to_status: str, *, actor, now: datetime, note: str = "", effective_date: date | None = None
) -> HouseholdStatusChange:
    if to_status not in {s.value for s in HouseholdStatus}:
        raise ValidationError("unknown_status", fields={"status": "invalid"})
    note = status_note(note)
    if not can_change_status(household, to_status):
        raise IllegalTransition(
            "illegal_status_change", old=_status_label(household.status), new=_status_label(to_status)
        )
    change = HouseholdStatusChange(
        household_id=household.id,
        from_status=household.status,
        to_status=to_status,
        effective_date=effective_date or local_date(now),
        actor_id=getattr(actor, "id", None),
        note=note,
        created_at=now,
    )
    household.status = to_status
    db.session.add(change)
    db.session.flush()
    record_audit(
        actor=actor,
        action="household.status",
        subject=household,
        detail={"from": change.from_status, "to": to_status},
        now=now,
    )
    return change


def status_history(household: Household) -> list[tuple[HouseholdStatusChange, str | None]]:
    """The household's status changes, oldest first, each with who made it: the acting account's e-mail,
    None where no account acted (`flask county import-households`, the demo data's 建档立卡)."""
    actor = aliased(User)
    return [
        (change, email)
        for change, email in db.session.execute(
            sa.select(HouseholdStatusChange, actor.email)
            .outerjoin(actor, actor.id == HouseholdStatusChange.actor_id)
            .where(HouseholdStatusChange.household_id == household.id)
            .order_by(HouseholdStatusChange.created_at, HouseholdStatusChange.id)
        )
    ]


def check_may_reveal(actor) -> None:
    """Only county officers and admins see a household's personal data in clear: every service that
    decrypts a value for a person (`reveal`, `payouts.reveal_account`) asks this first, whichever page,
    API or task calls it. Anyone else: Forbidden, and nothing is read or written."""
    if not can_read_county(actor):
        raise Forbidden("forbidden")


def reveal(household: Household, field_name: str, *, actor, now: datetime) -> str:
    """Decrypt one field for a county officer (or an admin), and audit it (who, when, which field — not
    the value)."""
    check_may_reveal(actor)
    if field_name not in REVEALABLE:
        raise ValidationError("field_not_revealable", fields={"field": "invalid"})
    record_audit(actor=actor, action="household.reveal", subject=household, detail={"field": field_name}, now=now)
    return getattr(household, field_name) or ""


# --- Excel import / export ----------------------------------------------------------------------

#: Column headings of the county office's sheet -> HouseholdData field. Several spellings accepted.
IMPORT_HEADERS = {
    "村": "village",
    "所在村": "village",
    "行政村": "village",
    "village": "village",
    "户主姓名": "head_name",
    "户主": "head_name",
    "姓名": "head_name",
    "head_name": "head_name",
    "建档立卡编号": "registry_no",
    "登记号": "registry_no",
    "户编号": "registry_no",
    "registry_no": "registry_no",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "id_number": "id_number",
    "联系电话": "phone",
    "电话": "phone",
    "手机号": "phone",
    "phone": "phone",
    "家庭人口": "members",
    "人口数": "members",
    "members": "members",
    "状态": "status",
    "户类型": "status",
    "status": "status",
}
EXPORT_COLUMNS = [
    ("id", _l("编号")),
    ("village", _l("村")),
    ("head_name", _l("户主姓名")),
    ("registry_no", _l("建档立卡编号")),
    ("id_number", _l("身份证号")),
    ("phone", _l("联系电话")),
    ("members", _l("家庭人口")),
    ("status_label", _l("状态")),
]


@dataclass
class ImportReport:
    imported: int = 0
    already_registered: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"row": n, "reasons": [...]} — no personal data

    @property
    def total(self) -> int:
        return self.imported + self.already_registered + len(self.rejected)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet(source) -> tuple[list[str], list[tuple[int, dict]]]:
    """Read the first sheet: (field names found, [(row number, {field: text})])."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a non-xlsx upload
        raise ValidationError("not_xlsx", fields={"file": "invalid"}) from exc
    sheet = workbook.worksheets[0]
    # county sheets often start with a title row (e.g. "XX村建档立卡贫困户花名册"): the header is the first
    # of the first ten rows naming both the head of household and the registry number
    header_row, fields = None, []
    for number, values in enumerate(sheet.iter_rows(max_row=10, values_only=True), start=1):
        names = [IMPORT_HEADERS.get(_cell(h).replace(" ", ""), "") for h in (values or ())]
        if "registry_no" in names and "head_name" in names:
            header_row, fields = number, names
            break
    if header_row is None:
        workbook.close()
        raise ValidationError("import_headers", fields={"file": "headers"})
    rows = sheet.iter_rows(min_row=header_row + 1, values_only=True)
    out = []
    for number, values in enumerate(rows, start=header_row + 1):
        if values is None or all(v is None or _cell(v) == "" for v in values):
            continue
        record = {name: _cell(v) for name, v in zip(fields, values) if name}
        out.append((number, record))
    workbook.close()
    return [f for f in fields if f], out


#: What may stand between a township's and a village's name in the sheet's village column (三江镇·柳溪村).
_PLACE_SEPARATORS = ("·", "・", " ", "-", "/", "")


def _villages_by_name() -> dict[str, int | None]:
    """The import's village column -> village id: a village's own name, or its township's name and its
    name (三江镇·柳溪村, 三江镇 柳溪村, 三江镇柳溪村). A name two townships' villages share maps to None
    (the row is refused with the reason): picking one of them put households in the wrong village."""
    found: dict[str, int | None] = {}
    for village in db.session.scalars(sa.select(Village).options(selectinload(Village.township))):
        found[village.name] = None if village.name in found else village.id
        for separator in _PLACE_SEPARATORS:
            found[f"{village.township.name}{separator}{village.name}"] = village.id
    return found


def import_households(
    source, *, actor, now: datetime, progress: Callable[[Iterable], Iterable] | None = None
) -> ImportReport:
    """Import good rows, reject bad ones with reasons; re-running skips rows already registered."""
    _fields, rows = read_sheet(source)
    villages = _villages_by_name()
    report = ImportReport()
    seen_in_file: set[str] = set()
    iterator = progress(rows) if progress else rows
    for number, record in iterator:
        reasons = []
        registry_no = typed_number(record.get("registry_no", ""))
        village_name = " ".join(unicodedata.normalize("NFKC", record.get("village", "")).split())
        if not village_name:
            reasons.append(_("缺少村"))
        elif village_name not in villages:
            reasons.append(_("村不存在: %(village)s", village=village_name))
        elif villages[village_name] is None:
            reasons.append(
                _("有多个乡镇的村叫「%(village)s」：请写成「乡镇·村」，如「三江镇·%(village)s」", village=village_name)
            )
        status_text = record.get("status", "") or HOUSEHOLD_STATUS_LABELS[HouseholdStatus.POOR]
        status = STATUS_BY_LABEL.get(status_text, status_text)
        members_text = record.get("members", "") or "1"
        try:
            members = parse_int(members_text, minimum=1, maximum=999)
        except ValueError:
            members = None  # reported for this row by _clean below
        if registry_no:
            key = lookup_hash(registry_no)
            if key in seen_in_file:
                report.rejected.append({"row": number, "reasons": [_("登记号在表中重复")]})
                continue
            seen_in_file.add(key)
            if not reasons and db.session.scalar(sa.select(Household.id).where(Household.registry_no_hash == key)):
                report.already_registered += 1
                continue
        data = HouseholdData(
            village_id=villages.get(village_name),
            head_name=record.get("head_name", ""),
            registry_no=registry_no,
            id_number=record.get("id_number", ""),
            phone=record.get("phone", ""),
            members=members,
            status=status,
        )
        errors = _clean(data)
        errors.pop("village", None)  # already reported with the village's name
        reasons += [_(reason) for reason in errors.values()]
        if reasons:
            report.rejected.append({"row": number, "reasons": reasons})
            continue
        try:
            with db.session.begin_nested():
                create_household(data, actor=actor, now=now)
        except (ValidationError, sa.exc.IntegrityError):
            report.rejected.append({"row": number, "reasons": [_("登记号重复")]})
            continue
        report.imported += 1
    db.session.flush()
    log.info(
        "household import: %s imported, %s already registered, %s rejected",
        report.imported,
        report.already_registered,
        len(report.rejected),
    )
    return report


def export_rows(f: HouseholdQuery | None = None) -> list[dict]:
    """Every household (or those matching `f`), masked, for XLSX/CSV export."""
    f = f or HouseholdQuery(per_page=10**9)
    f.per_page = 10**9
    households, _total = search_households(f)
    return [household_row(h) for h in households]
