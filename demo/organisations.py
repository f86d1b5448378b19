"""A demo organisation the county office did not verify (idempotent), so that a newcomer sees how a
rejected registration is corrected: its manager (`union@demo.cn`) finds the county office's reason on its
page (`/organisations/<id>`) and the correction page (`/organisations/<id>/edit`), where they fix it and
submit it again, pending for the county officer (`county@demo.cn`) to verify.

The plan asks the county's offices (县直机关, the 人社 office among the units it names) to take part in the
villages' lifting out of poverty; their unions buy the villages' products for their staff (消费帮扶). This one
registered under its short name, which the county office refuses: a union registers under the full name
of its union legal-person certificate. Made through the services, as the manager's and the officer's taps
would: registered two days before the demo is loaded, rejected the day after (audited; its manager mailed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from institutions.models import Organisation
from institutions.services.organisations import OrganisationData, decide_organisation, register_organisation
from shop.auth.models import User
from shop.extensions import db

MANAGER_EMAIL = "union@demo.cn"

REGISTRATION = OrganisationData(
    name="县人社局工会",
    kind="union",
    credit_code="81360121MC0271017L",  # 81: a grass-roots union; 360121: 南昌县; its check character right
    address="南昌县莲塘镇向阳路 166 号",
    contact_name="刘会计",
    contact_phone="0791-85716688",
)

#: The full name the reason asks for: what the manager types on the correction page.
FULL_NAME = "南昌县人力资源和社会保障局工会委员会"

REASON = f"单位名称须与《工会法人资格证书》上的全称一致，请把“县人社局工会”改为证书上的全称（{FULL_NAME}）后重新提交。"


def seed_rejected_organisation(*, manager: User, officer: User, now: datetime) -> bool:
    """The union registered by `manager` and rejected by `officer` with its reason; nothing if its credit
    code is registered already (corrected since, or verified: the demo's data is left as its users made it)."""
    taken = db.session.scalar(sa.select(Organisation.id).where(Organisation.credit_code == REGISTRATION.credit_code))
    if taken is not None:
        return False
    organisation = register_organisation(REGISTRATION, user=manager, now=now - timedelta(days=2))
    decide_organisation(organisation, approve=False, reason=REASON, actor=officer, now=now - timedelta(days=1))
    return True
