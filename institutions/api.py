"""API of institutional buying: organisations (register, read, members, the county office's decision).

Same services as the pages. An organisation is visible to its members, the county office and admins;
to anyone else it does not exist (404)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from institutions.models import Organisation
from institutions.services import organisations as orgs
from shop.api import Schema, api_user, endpoint, ok
from shop.db import commit
from shop.timeutil import now_utc

TAGS = ("organisations",)
Kind = Literal["budget_unit", "union", "company", "other"]
MemberRoleName = Literal["buyer", "approver", "viewer"]


class OrganisationIn(Schema):
    name: str = Field(max_length=200, description="the organisation's registered name (at most 100 characters)")
    kind: Kind = Field(description="budget_unit (预算单位), union (工会), company (企业) or other (其他)")
    credit_code: str = Field(max_length=40, description="统一社会信用代码: 18 characters, GB 32100 check character")
    address: str = Field(max_length=400, description="at most 200 characters")
    contact_name: str = Field(max_length=80, description="at most 40 characters")
    contact_phone: str = Field(max_length=40, description="a mobile number or a landline with its area code")


class MemberIn(Schema):
    email: str = Field(max_length=254, description="the login e-mail of an existing buyer account")
    role: MemberRoleName


class DecisionIn(Schema):
    reason: str = Field(default="", max_length=800, description="required to reject (at most 400 characters)")


class MemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    role: MemberRoleName
    is_manager: bool


class OrganisationOut(BaseModel):
    id: int
    name: str
    kind: Kind
    credit_code: str
    address: str
    contact_name: str
    contact_phone: str
    status: Literal["pending", "approved", "rejected"]
    decision_reason: str
    decided_at: datetime | None
    created_at: datetime
    members: list[MemberOut]


def organisation_out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=organisation.id, name=organisation.name, kind=organisation.kind, credit_code=organisation.credit_code,
        address=organisation.address, contact_name=organisation.contact_name,
        contact_phone=organisation.contact_phone, status=organisation.status,
        decision_reason=organisation.decision_reason, decided_at=organisation.decided_at,
        created_at=organisation.created_at,
        members=[MemberOut(user_id=m.user_id, name=m.user.name, email=m.user.email, role=m.role,
                           is_manager=m.is_manager) for m in organisation.members],
    )


@endpoint("/organisations", ("POST",), body=OrganisationIn, response=OrganisationOut, status=201, auth=True,
          tags=TAGS, errors=(403, 409),
          summary="Register an organisation (a buyer account; it waits for the county office's verification)")
def create_organisation(body: OrganisationIn):
    organisation = orgs.register_organisation(orgs.OrganisationData(**body.model_dump()), user=api_user(),
                                              now=now_utc())
    out = organisation_out(organisation)
    commit()
    return ok(out, 201)


@endpoint("/organisations/<int:organisation_id>", response=OrganisationOut, auth=True, tags=TAGS,
          summary="An organisation with its members (its members, the county office and admins; else 404)")
def get_organisation(organisation_id: int):
    return ok(organisation_out(orgs.get_visible_organisation(organisation_id, api_user())))


@endpoint("/organisations/<int:organisation_id>/members", ("POST",), body=MemberIn, response=MemberOut, status=201,
          auth=True, tags=TAGS, errors=(403, 409),
          summary="A manager of the organisation adds an account as buyer, approver or viewer (or changes its role)")
def add_organisation_member(organisation_id: int, body: MemberIn):
    user = api_user()
    organisation = orgs.get_visible_organisation(organisation_id, user)
    member = orgs.add_member(organisation, email=body.email, role=body.role, actor=user, now=now_utc())
    out = MemberOut(user_id=member.user_id, name=member.user.name, email=member.user.email, role=member.role,
                    is_manager=member.is_manager)
    commit()
    return ok(out, 201)


@endpoint("/organisations/<int:organisation_id>/approve", ("POST",), body=DecisionIn, response=OrganisationOut,
          roles=("county",), tags=TAGS, errors=(409,),
          summary="The county office verifies a pending organisation (audited)")
def approve_organisation(organisation_id: int, body: DecisionIn):
    user = api_user()
    organisation = orgs.decide_organisation(orgs.get_visible_organisation(organisation_id, user), approve=True,
                                            reason=body.reason, actor=user, now=now_utc())
    out = organisation_out(organisation)
    commit()
    return ok(out)


@endpoint("/organisations/<int:organisation_id>/reject", ("POST",), body=DecisionIn, response=OrganisationOut,
          roles=("county",), tags=TAGS, errors=(409,),
          summary="The county office refuses a pending organisation with a reason (audited)")
def reject_organisation(organisation_id: int, body: DecisionIn):
    user = api_user()
    organisation = orgs.decide_organisation(orgs.get_visible_organisation(organisation_id, user), approve=False,
                                            reason=body.reason, actor=user, now=now_utc())
    out = organisation_out(organisation)
    commit()
    return ok(out)
