"""The date and month pickers of the staff's GET pages (a till's 现金账 day, the county's 明白卡 month and
payout period, an organisation's statement period) carry the range the pages accept: a year 20260 typed
into one was sent and came back as a bare 400 page ('date 须为 2000-01-01 到 2099-12-31 之间的日期',
'月份格式应为 YYYY-MM'), the argument's English name in a Chinese sentence. The county's report ranges
already did (tests/county/test_report_ranges.py)."""

from __future__ import annotations

import re

from shop.args import MAX_DATE, MIN_DATE
from tests.factories import make_station, make_user, make_village
from tests.institutions.factories import make_organisation


def _pickers(html: str) -> list[str]:
    return re.findall(r'<input[^>]*type="(?:date|month)"[^>]*>', html)


def _bounded(tag: str) -> bool:
    if 'type="month"' in tag:
        return f'min="{MIN_DATE.isoformat()[:7]}"' in tag and f'max="{MAX_DATE.isoformat()[:7]}"' in tag
    return f'min="{MIN_DATE.isoformat()}"' in tag and f'max="{MAX_DATE.isoformat()}"' in tag


def test_staff_pickers_stay_within_the_dates_the_pages_accept(client, db, auth):
    village = make_village()
    station = make_station(village=village)
    organisation = make_organisation(members={"approver": None})
    pages = (
        (make_user(role="operator", station=station), ["/station/cash"]),
        (make_user(role="host"), ["/host/cash"]),
        (make_user(role="county"), ["/county/payouts", f"/county/cards?village_id={village.id}&month=2026-11"]),
        (organisation.members[0].user, [f"/organisations/{organisation.id}/statement"]),
    )
    for user, urls in pages:
        auth.login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            pickers = _pickers(response.get_data(as_text=True))
            assert pickers, url
            assert all(_bounded(tag) for tag in pickers), (url, [t for t in pickers if not _bounded(t)])
        client.post("/logout")
