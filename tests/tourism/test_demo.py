import sqlalchemy as sa

from shop.timeutil import now_utc
from tests.factories import make_user, make_village
from tourism import demo
from tourism.models import Listing, Session


def test_demo_seed_is_idempotent(db):
    make_user(role="host", email="host@demo.cn")
    for name in ("罗渡村", "花海村", "红星村", "渔村村"):
        make_village(name=name)
    now = now_utc()
    assert demo.seed(now) is True
    kinds = sorted(db.session.scalars(sa.select(Listing.kind)))
    assert kinds == ["experience", "experience", "stay", "stay", "ticket"]
    sessions = db.session.scalar(sa.select(sa.func.count()).select_from(Session))
    assert sessions == 14 * 3
    assert demo.seed(now) is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Session)) == sessions


def test_demo_seed_without_host_does_nothing(db):
    assert demo.seed(now_utc()) is False


def test_every_demo_listing_has_a_photo_drawn_locally(app, db, client):
    """seed-demo gives each demo listing — the stays, the sessions and the flower-sea day ticket — its
    first photo as the demo products get theirs (demo.images: drawn with Pillow, no download), shown on
    its page; seeding again adds none."""
    import os

    from tourism.models import ListingImage

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    listings = db.session.scalars(sa.select(Listing).order_by(Listing.id)).all()
    assert sorted({x.kind for x in listings}) == ["experience", "stay", "ticket"]
    assert [x.slug for x in listings if not x.images] == []
    for listing in listings:
        image = listing.images[0]
        for path in (image.path, image.thumb_path):
            assert os.path.getsize(os.path.join(app.config["UPLOAD_DIR"], path)) > 0
        page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
        assert f"/media/{image.path}" in page or f"/media/{image.thumb_path}" in page
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ListingImage))
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ListingImage)) == count == len(listings)


def test_a_tourist_booked_at_a_demo_listing_sees_the_hosts_phone(app, db, client, auth):
    """Every demo host has a mainland mobile number (shop.phone), shown on the booking page once booked."""
    from datetime import timedelta

    from shop.auth.models import Role, User
    from shop.phone import is_mobile
    from tests.tourism.factories import make_booking

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    hosts = db.session.scalars(sa.select(User).where(User.role == Role.HOST)).all()
    assert hosts and all(is_mobile(h.phone) for h in hosts)
    tourist = make_user(role="consumer")
    listing = db.session.scalar(sa.select(Listing).where(Listing.kind == "stay").order_by(Listing.id))
    booking = make_booking(listing, user=tourist, check_in=now_utc().date() + timedelta(days=10))
    db.session.commit()
    auth.login(tourist)
    page = client.get(f"/bookings/{booking.code}").get_data(as_text=True)
    assert "联系接待户" in page and f'href="tel:{listing.host.phone}"' in page
