"""Factories for organisations and their members."""

from __future__ import annotations

import itertools

from institutions import creditcode
from institutions.models import Organisation, OrganisationMember
from shop.extensions import db
from tests.factories import NOW, make_user

_seq = itertools.count(1)


#: A registration's fields but its credit code (`make_credit_code`), as the form and the API take them.
REGISTRATION = {
    "name": "莲塘一小",
    "kind": "budget_unit",
    "address": "南昌县莲塘镇向阳路 8 号",
    "contact_name": "王会计",
    "contact_phone": "0791-85712345",
}


def make_credit_code(n: int | None = None) -> str:
    """A valid code: 91 (a company), a region, 9 characters, the check character."""
    body = f"91360121{(n if n is not None else next(_seq)):09d}"
    return body + creditcode.check_character(body)


def make_organisation(
    *, name: str = "南昌县第一中学", kind: str = "budget_unit", status: str = "approved", members: dict | None = None
) -> Organisation:
    """An organisation; `members` maps role -> user (made when None): {"approver": None, "buyer": None}."""
    organisation = Organisation(
        name=name,
        kind=kind,
        credit_code=make_credit_code(),
        address="南昌县莲塘镇澄湖路 1 号",
        contact_name="李老师",
        contact_phone="0791-85712345",
        status=status,
        decision_reason="",
        created_at=NOW,
    )
    db.session.add(organisation)
    db.session.flush()
    for role, user in (members or {}).items():
        add_member(organisation, user or make_user(), role=role.split(":")[0])
    return organisation


def add_member(organisation, user, *, role: str, is_manager: bool = False) -> OrganisationMember:
    member = OrganisationMember(
        organisation_id=organisation.id, user_id=user.id, role=role, is_manager=is_manager, created_at=NOW
    )
    db.session.add(member)
    db.session.flush()
    db.session.expire(organisation, ["members"])
    return member
