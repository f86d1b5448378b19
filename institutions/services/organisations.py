"""Organisations: registration, the county office's verification (audited, mailed to the managers), a
rejected registration corrected and submitted again by its manager, members and their roles,
and who may see an organisation (its members, the county office, admins; everyone else gets a 404,
so ids cannot be probed). Services only flush; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from institutions import creditcode
from institutions.models import MemberRole, Organisation, OrganisationKind, OrganisationMember, OrganisationStatus
from institutions.services.notices import notify_organisation_decided
from shop.audit import AuditEntry, record_audit
from shop.auth.models import Role, User
from shop.db import statement
from shop.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.history import record_status, transition
from shop.phone import is_phone, normalise_phone

LIMITS = {"name": 100, "address": 200, "contact_name": 40, "contact_phone": 20}
#: The county office's reason for its decision, in characters once its spaces are collapsed (the page's form,
#: the API's spec): longer is refused, 422 `reason_too_long` naming the limit.
MAX_DECISION_REASON = 400
MAX_MEMBERS = 200


class CreditCodeTaken(Conflict):
    code = "credit_code_taken"


@dataclass
class OrganisationData:
    name: str = ""
    kind: str = ""
    credit_code: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""


def validate_credit_code(value: str) -> str:
    """The normalised code, or ValidationError (wrong length, characters or check character)."""
    code = creditcode.normalise(value)
    if not creditcode.is_valid(code):
        raise ValidationError("invalid_credit_code", fields={"credit_code": "invalid"})
    return code


def _clean(data: OrganisationData) -> OrganisationData:
    errors = {}
    values = {}
    for name, limit in LIMITS.items():
        value = " ".join((getattr(data, name) or "").split())
        if not value:
            errors[name] = "required"
        elif len(value) > limit:
            errors[name] = "too_long"
        values[name] = value
    if data.kind not in set(OrganisationKind):
        errors["kind"] = "invalid"
    if errors:
        raise ValidationError("organisation_incomplete", fields=errors)
    if not is_phone(values["contact_phone"], landline=True):
        raise ValidationError("invalid_organisation_phone", fields={"contact_phone": "invalid"})
    return OrganisationData(
        kind=data.kind,
        credit_code=validate_credit_code(data.credit_code),
        **{**values, "contact_phone": normalise_phone(values["contact_phone"])},
    )


def register_organisation(data: OrganisationData, *, user: User, now: datetime) -> Organisation:
    """A signed-in account registers its organisation; it waits for the county office and the account
    becomes its first member (approver, manager). One organisation per credit code."""
    if user.role != Role.CONSUMER:
        raise Forbidden("buyer_account_required")
    clean = _clean(data)
    taken = db.session.scalar(sa.select(Organisation.id).where(Organisation.credit_code == clean.credit_code))
    if taken is not None:
        raise CreditCodeTaken("credit_code_taken", fields={"credit_code": "taken"})
    organisation = Organisation(
        name=clean.name,
        kind=clean.kind,
        credit_code=clean.credit_code,
        address=clean.address,
        contact_name=clean.contact_name,
        contact_phone=clean.contact_phone,
        status=OrganisationStatus.PENDING,
        decision_reason="",
        registered_by_id=user.id,
        created_at=now,
    )
    db.session.add(organisation)
    db.session.add(
        OrganisationMember(
            organisation=organisation, user_id=user.id, role=MemberRole.APPROVER, is_manager=True, created_at=now
        )
    )
    db.session.flush()
    record_status(organisation, from_status=None, to_status=organisation.status, actor=user, now=now)
    db.session.flush()
    return organisation


def lock_organisation(organisation_id: int) -> Organisation:
    """The organisation's row, locked (FOR UPDATE) and read again as the lock makes it final: what two
    decisions on it at once (a review, an approval spending its budget) take turns on."""
    return db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.id == organisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _decision_reason(approve: bool, reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not approve and not reason:
        raise ValidationError("rejection_reason_required", fields={"reason": "required"})
    if len(reason) > MAX_DECISION_REASON:
        raise ValidationError("reason_too_long", max=MAX_DECISION_REASON, fields={"reason": "too_long"})
    return reason


def decision_refusal(organisation: Organisation, *, approve: bool, reason: str = "") -> DomainError | None:
    """Why `decide_organisation` would refuse this decision as things stand, or None: a rejection without
    its reason (or one too long), an organisation reviewed already. The page asks it before its
    confirmation step, so a decision that can only fail is said at once, never confirmed first."""
    try:
        _decision_reason(approve, reason)
        if organisation.status != OrganisationStatus.PENDING:
            raise Conflict("organisation_already_reviewed", fields={"status": organisation.status})
    except DomainError as exc:
        return exc
    return None


def decide_organisation(
    organisation: Organisation, *, approve: bool, reason: str = "", actor: User, now: datetime
) -> Organisation:
    """The county office approves, or rejects with a reason; audited. Only a pending organisation. Its
    managers are mailed the decision after the commit (`notices.notify_organisation_decided`)."""
    reason = _decision_reason(approve, reason)
    locked = lock_organisation(organisation.id)
    if locked.status != OrganisationStatus.PENDING:
        raise Conflict("organisation_already_reviewed", fields={"status": locked.status})
    to = OrganisationStatus.APPROVED if approve else OrganisationStatus.REJECTED
    transition(locked, to, actor=actor, now=now, note=reason)
    locked.decision_reason = reason
    locked.decided_at = now
    locked.decided_by_id = actor.id
    record_audit(
        actor=actor,
        action=f"organisation.{'approve' if approve else 'reject'}",
        subject=locked,
        detail={"reason": reason, "credit_code": locked.credit_code},
        now=now,
    )
    notify_organisation_decided(locked)
    return locked


def is_manager(organisation: Organisation, user) -> bool:
    """`user` is one of the organisation's managers (who registered it, or was made one)."""
    member = membership(organisation.id, user)
    return member is not None and member.is_manager


def resubmit_refusal(organisation: Organisation, user) -> DomainError | None:
    """Why `resubmit_organisation` would refuse `user` as things stand, or None: not its manager (403),
    a registration that is not rejected (pending again already, or verified: 409). The page asks it
    before offering its form."""
    if not is_manager(organisation, user):
        return Forbidden("organisation_manager_only")
    if organisation.status != OrganisationStatus.REJECTED:
        return Conflict("organisation_not_rejected", fields={"status": organisation.status})
    return None


def resubmit_organisation(
    organisation: Organisation, data: OrganisationData, *, user: User, now: datetime
) -> Organisation:
    """Its manager corrects a rejected registration (checked as a registration is; its credit code may
    stay, or become one no other organisation has) and submits it again: pending for the county office
    once more, the reason it was rejected kept in its status history; audited. Under the organisation's
    row lock, so a second submit (a double tap) finds it pending and is refused, changing nothing. Who may
    is asked before what is sent is checked: anyone else is refused (403) whatever they send."""
    locked = lock_organisation(organisation.id)
    refusal = resubmit_refusal(locked, user)
    if refusal is not None:
        raise refusal
    clean = _clean(data)
    taken = db.session.scalar(
        sa.select(Organisation.id).where(Organisation.credit_code == clean.credit_code, Organisation.id != locked.id)
    )
    if taken is not None:
        raise CreditCodeTaken("credit_code_taken", fields={"credit_code": "taken"})
    fields = ("name", "kind", "credit_code", "address", "contact_name", "contact_phone")
    changed = {name: getattr(clean, name) for name in fields if getattr(locked, name) != getattr(clean, name)}
    for name, value in changed.items():
        setattr(locked, name, value)
    rejected_for = locked.decision_reason
    transition(locked, OrganisationStatus.PENDING, actor=user, now=now)
    locked.decision_reason = ""
    locked.decided_at = None
    locked.decided_by_id = None
    record_audit(
        actor=user,
        action="organisation.resubmit",
        subject=locked,
        detail={"changed": sorted(changed), "rejected_for": rejected_for, "credit_code": locked.credit_code},
        now=now,
    )
    db.session.flush()
    return locked


@dataclass(frozen=True)
class Resubmission:
    """A pending registration that was rejected before and corrected by its manager: why the county office
    rejected it last and which of its fields the manager changed since (`OrganisationData`'s names)."""

    rejected_for: str
    changed: tuple[str, ...]
    at: datetime


def last_resubmission(organisation: Organisation) -> Resubmission | None:
    """What the county office needs to decide a registration submitted again (the page shows it beside the
    decision): None unless it is pending after a rejection. Read from the audit of its last resubmission."""
    if organisation.status != OrganisationStatus.PENDING:
        return None
    entry = db.session.scalar(
        sa.select(AuditEntry)
        .where(
            AuditEntry.action == "organisation.resubmit",
            AuditEntry.subject_type == Organisation.__tablename__,
            AuditEntry.subject_id == organisation.id,
        )
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    if entry is None:
        return None
    detail = entry.detail or {}
    return Resubmission(
        rejected_for=str(detail.get("rejected_for") or ""),
        changed=tuple(str(name) for name in detail.get("changed") or ()),
        at=entry.created_at,
    )


def is_staff(user) -> bool:
    """The county office and admins see every organisation."""
    return bool(user is not None and user.is_authenticated and user.role in (Role.COUNTY, Role.ADMIN))


def membership(organisation_id: int, user) -> OrganisationMember | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user.id
        )
    )


def get_visible_organisation(organisation_id: int, user) -> Organisation:
    """The organisation, for its members and the county office; NotFound for anyone else."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not (is_staff(user) or membership(organisation_id, user) is not None):
        raise NotFound("organisation_not_found")
    return organisation


def organisations_of(user) -> list[tuple[Organisation, OrganisationMember]]:
    rows = db.session.execute(
        sa.select(Organisation, OrganisationMember)
        .join(OrganisationMember)
        .where(OrganisationMember.user_id == user.id)
        .order_by(Organisation.id)
    ).all()
    return [(o, m) for o, m in rows]


def purchasing_organisations(user) -> list[sa.Row]:
    """The verified organisations `user` may build purchases for (a buyer member), as rows (id, name):
    where a product page offers 加入采购单. None for a visitor not signed in. Asked on every signed-in
    product page (a personal part, templates/_macros/_personal.html), where almost nobody buys for an
    organisation: the two columns only, the statement built once (`shop.db.statement`), not an entity
    load — about half the CPU of one."""
    if user is None or not user.is_authenticated:
        return []
    query = statement(
        "institutions.purchasing_organisations",
        lambda: (
            sa.select(Organisation.id, Organisation.name)
            .join(OrganisationMember)
            .where(
                OrganisationMember.user_id == sa.bindparam("user_id"),
                OrganisationMember.role == MemberRole.BUYER,
                Organisation.status == OrganisationStatus.APPROVED,
            )
            .order_by(Organisation.id)
        ),
    )
    return list(db.session.execute(query, {"user_id": user.id}).all())


def list_organisations(*, status: str | None = None) -> list[Organisation]:
    query = sa.select(Organisation).order_by(Organisation.created_at.desc(), Organisation.id.desc())
    if status:
        query = query.where(Organisation.status == status)
    return list(db.session.scalars(query.limit(500)))


def pending_count() -> int:
    """How many organisations wait for the county office's verification (its overview's 待审核单位)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Organisation.id)).where(Organisation.status == OrganisationStatus.PENDING)
        )
        or 0
    )


def can_manage_members(organisation: Organisation, user) -> bool:
    if user is not None and user.is_authenticated and user.role == Role.ADMIN:
        return True
    return is_manager(organisation, user)


def managers(organisation_id: int) -> list[User]:
    """The organisation's managers with an active account: whom its verification is mailed to."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(OrganisationMember, OrganisationMember.user_id == User.id)
            .where(
                OrganisationMember.organisation_id == organisation_id,
                OrganisationMember.is_manager.is_(True),
                User.is_active_account.is_(True),
            )
            .order_by(User.id)
        )
    )


def _approving(organisation_id: int) -> tuple:
    """Who approves the organisation's purchases: its approvers with an active account."""
    return (
        OrganisationMember.organisation_id == organisation_id,
        OrganisationMember.role == MemberRole.APPROVER,
        User.is_active_account.is_(True),
    )


def approver_ids(organisation_id: int) -> list[int]:
    """The accounts that approve the organisation's purchases (its approvers with an active account),
    by id."""
    return list(
        db.session.scalars(
            sa.select(OrganisationMember.user_id)
            .join(User, User.id == OrganisationMember.user_id)
            .where(*_approving(organisation_id))
            .order_by(OrganisationMember.user_id)
        )
    )


def approvers(organisation_id: int) -> list[User]:
    """The accounts of `approver_ids` themselves, in one statement: whom a submitted purchase is mailed to."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(OrganisationMember, OrganisationMember.user_id == User.id)
            .where(*_approving(organisation_id))
            .order_by(User.id)
        )
    )


def add_member(organisation: Organisation, *, email: str, role: str, actor: User, now: datetime) -> OrganisationMember:
    """A manager of the organisation adds an existing account (by its e-mail) with a role, or changes
    the role of a member already there (never the last approver's: 409 organisation_needs_approver, as
    `change_member_rights` refuses it); audited."""
    if not can_manage_members(organisation, actor):
        raise Forbidden("organisation_admin_only")
    if role not in set(MemberRole):
        raise ValidationError("member_role_required", fields={"role": "invalid"})
    email = (email or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is None:
        raise ValidationError("member_account_not_found", fields={"email": "unknown"})
    if user.role != Role.CONSUMER:
        raise ValidationError("member_role_not_allowed", fields={"email": "not_consumer"})
    db.session.execute(sa.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    member = membership(organisation.id, user)
    if member is None:
        count = (
            db.session.scalar(
                sa.select(sa.func.count(OrganisationMember.id)).where(
                    OrganisationMember.organisation_id == organisation.id
                )
            )
            or 0
        )
        if count >= MAX_MEMBERS:
            raise Conflict("organisation_full")
        member = OrganisationMember(
            organisation_id=organisation.id, user_id=user.id, role=role, is_manager=False, created_at=now
        )
        db.session.add(member)
        old = None
    else:
        old = member.role
        refusal = _rights_kept_refusal(organisation, member, role=role, is_manager=member.is_manager)
        if refusal is not None:
            raise refusal
        member.role = role
    db.session.flush()
    record_audit(
        actor=actor,
        action="organisation.member",
        subject=organisation,
        detail={"user_id": user.id, "role": role, "old_role": old},
        now=now,
    )
    return member


def _sole(organisation_id: int) -> tuple[int | None, int | None]:
    """The organisation's only manager and its only approver with an active account (as `managers` and
    `approver_ids` count them), by account id; None where it has none or several."""
    manager_ids = [u.id for u in managers(organisation_id)]
    approving = approver_ids(organisation_id)
    return (
        manager_ids[0] if len(manager_ids) == 1 else None,
        approving[0] if len(approving) == 1 else None,
    )


def removal_refusal(organisation: Organisation, member: OrganisationMember | None, actor) -> DomainError | None:
    """Why `remove_member` would refuse `actor` removing `member` as things stand, or None: no such member
    (404 `member_not_found`); someone who may not add members removing another (403
    `member_remove_forbidden`: whoever may add a member may remove one — its managers and admins,
    `can_manage_members` — and a member may leave); the organisation's only manager with an active account
    (409 `organisation_needs_manager`: nobody could add or remove members, nor correct its registration), or
    its only approver with one (409 `organisation_needs_approver_left`: its purchases could never be approved,
    as `add_member` keeps one). The page asks it before its confirmation step."""
    if member is None or member.organisation_id != organisation.id:
        return NotFound("member_not_found")
    leaving = getattr(actor, "id", None) == member.user_id
    if not leaving and not can_manage_members(organisation, actor):
        return Forbidden("member_remove_forbidden")
    sole_manager, sole_approver = _sole(organisation.id)
    name = member.user.name or member.user.email
    if member.is_manager and sole_manager == member.user_id:
        return Conflict("organisation_needs_manager", name=name, fields={"user_id": "last_manager"})
    if member.role == MemberRole.APPROVER and sole_approver == member.user_id:
        return Conflict("organisation_needs_approver_left", name=name, fields={"user_id": "last_approver"})
    return None


def irremovable_members(organisation_id: int) -> dict[int, str]:
    """The accounts `removal_refusal` keeps in the organisation whoever asks, by account id, with why:
    "manager" (its only one) or "approver" (its only one). The members list offers them no 移出 / 退出单位
    (a step that could only be refused) and says why."""
    sole_manager, sole_approver = _sole(organisation_id)
    kept: dict[int, str] = {}
    if sole_approver is not None:
        kept[sole_approver] = "approver"
    if sole_manager is not None:
        kept[sole_manager] = "manager"
    return kept


def member_of(organisation: Organisation, user_id: int) -> OrganisationMember | None:
    """The organisation's member whose account is `user_id`, or None."""
    return db.session.scalar(
        sa.select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id, OrganisationMember.user_id == user_id
        )
    )


def remove_member(organisation: Organisation, *, user_id: int, actor: User, now: datetime) -> OrganisationMember:
    """A manager of the organisation (or an admin) removes a member, or a member leaves (`actor` is the
    member): the membership row is deleted, so from the next request on the account gets what a stranger
    gets of the organisation, its purchases, quotes and invoices (404: every one of them asks the
    membership). Refused as `removal_refusal` says, asked again under the organisation's row lock (two
    removals at once never leave it without its last manager or approver). Audited on the organisation
    (`organisation.member_remove`, or `organisation.member_leave` for a member leaving) with the account,
    its e-mail and the role it had.

    What the member did for the organisation stays the organisation's: its purchases (drafts, submitted,
    approved) keep their organisation, the orders they placed stay on its purchases, statement and invoices.
    Returns the removed membership (detached)."""
    lock_organisation(organisation.id)
    member = member_of(organisation, user_id)
    refusal = removal_refusal(organisation, member, actor)
    if refusal is not None:
        raise refusal
    assert member is not None  # refused above
    leaving = actor.id == member.user_id
    detail = {
        "user_id": member.user_id,
        "email": member.user.email,
        "role": member.role,
        "is_manager": member.is_manager,
    }
    db.session.delete(member)
    db.session.flush()
    record_audit(
        actor=actor,
        action="organisation.member_leave" if leaving else "organisation.member_remove",
        subject=organisation,
        detail=detail,
        now=now,
    )
    return member


def _rights_kept_refusal(
    organisation: Organisation, member: OrganisationMember, *, role: str, is_manager: bool
) -> DomainError | None:
    """Why giving `member` `role` and `is_manager` would leave the organisation without an active manager or
    approver, or None: taking the manager's right from its only manager with an active account (409
    `organisation_needs_manager_kept`: nobody could add, remove or change members, nor correct its
    registration), or the approver's from its only approver with one (409 `organisation_needs_approver`: its
    purchases could never be approved — a buyer never approves their own). As `removal_refusal` counts them
    (`_sole`); the member's own rights may be lowered once someone else keeps them."""
    sole_manager, sole_approver = _sole(organisation.id)
    if member.is_manager and not is_manager and sole_manager == member.user_id:
        name = member.user.name or member.user.email
        return Conflict("organisation_needs_manager_kept", name=name, fields={"is_manager": "last_manager"})
    if member.role == MemberRole.APPROVER and role != MemberRole.APPROVER and sole_approver == member.user_id:
        return Conflict("organisation_needs_approver", fields={"role": "last_approver"})
    return None


def change_member_rights(
    organisation: Organisation,
    *,
    user_id: int,
    role: str | None,
    is_manager: bool | None,
    actor: User,
    now: datetime,
) -> OrganisationMember:
    """Whoever may add a member (its managers and admins, `can_manage_members`) changes a member's rights: its
    role (buyer, approver, viewer; None keeps it) and whether it manages the organisation (adds, removes and
    changes members, corrects its registration; None keeps it) — a second manager or approver is made so, and
    a member added with the wrong rights corrected without removing it. A manager may change their own, and
    give up a right once someone else keeps it. Refused: no such member (404 `member_not_found`), someone who
    may not add members (403 `member_rights_forbidden`), a role that is none (422 `member_role_required`), and
    as `_rights_kept_refusal` says, asked under the organisation's row lock (two changes at once never leave it
    without an active manager or approver). Audited on the organisation (`organisation.member_rights`, with the
    rights before and after) unless nothing changes. Every right is read from the membership on each request,
    so the change counts from the member's next request. Returns the membership."""
    if not can_manage_members(organisation, actor):
        raise Forbidden("member_rights_forbidden")
    if role is not None and role not in set(MemberRole):
        raise ValidationError("member_role_required", fields={"role": "invalid"})
    lock_organisation(organisation.id)
    member = member_of(organisation, user_id)
    if member is None:
        raise NotFound("member_not_found")
    new_role = member.role if role is None else role
    new_manager = member.is_manager if is_manager is None else is_manager
    if (new_role, new_manager) == (member.role, member.is_manager):
        return member
    refusal = _rights_kept_refusal(organisation, member, role=new_role, is_manager=new_manager)
    if refusal is not None:
        raise refusal
    detail = {
        "user_id": member.user_id,
        "email": member.user.email,
        "role": new_role,
        "is_manager": new_manager,
        "old_role": member.role,
        "old_is_manager": member.is_manager,
    }
    member.role = new_role
    member.is_manager = new_manager
    db.session.flush()
    record_audit(actor=actor, action="organisation.member_rights", subject=organisation, detail=detail, now=now)
    return member
