"""The demo's rejected organisation (`demo.organisations`): a newcomer signing in as its manager, an account
README.md lists, finds the county office's reason and the correction page; seeding again adds nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from institutions.models import Organisation
from shop.extensions import db as _db

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_demo_has_a_rejected_organisation_its_manager_can_correct(app, db, client, auth):
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    assert "union@demo.cn" in seeded.output and "union@demo.cn" in README.read_text(encoding="utf-8")
    (organisation,) = _db.session.scalars(sa.select(Organisation).where(Organisation.status == "rejected")).all()
    assert organisation.decision_reason and organisation.decided_by_id is not None

    auth.login("union@demo.cn", "demo12345")
    page = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert organisation.decision_reason in page and f"/organisations/{organisation.id}/edit" in page
    correction = client.get(f"/organisations/{organisation.id}/edit")
    assert correction.status_code == 200 and organisation.decision_reason in correction.get_data(as_text=True)

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert _db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1
