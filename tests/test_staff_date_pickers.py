"""The date and month pickers of the staff's GET pages (a till's 现金账 day, the county's 明白卡 month and
payout period, an organisation's statement period) carry the range the pages accept: a year 20260 typed
into one was sent and came back as a bare 400 page ('date 须为 2000-01-01 到 2099-12-31 之间的日期',
'月份格式应为 YYYY-MM'), the argument's English name in a Chinese sentence. The county's report ranges
already did (tests/county/test_report_ranges.py). The 明白卡's month ends at this month: a month to come has
no card (tests/county/test_cards.py)."""

from __future__ import annotations

import re

from shop.args import MAX_DATE, MIN_DATE
from shop.timeutil import local_date, now_utc
from tests.factories import make_station, make_user, make_village
from tests.institutions.factories import make_organisation


def _pickers(html: str) -> list[str]:
    return re.findall(r'<input[^>]*type="(?:date|month)"[^>]*>', html)


def _bounded(tag: str, *, latest_month: str = MAX_DATE.isoformat()[:7]) -> bool:
    if 'type="month"' in tag:
        return f'min="{MIN_DATE.isoformat()[:7]}"' in tag and f'max="{latest_month}"' in tag
    return f'min="{MIN_DATE.isoformat()}"' in tag and f'max="{MAX_DATE.isoformat()}"' in tag


def test_staff_pickers_stay_within_the_dates_the_pages_accept(client, db, auth):
    village = make_village()
    station = make_station(village=village)
    organisation = make_organisation(members={"approver": None})
    this_month = f"{local_date(now_utc()):%Y-%m}"  # the 明白卡's month pickers end there
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
            latest = this_month if url.startswith("/county/") else MAX_DATE.isoformat()[:7]
            wrong = [tag for tag in pickers if not _bounded(tag, latest_month=latest)]
            assert not wrong, (url, wrong)
        client.post("/logout")
