"""Journey: the station operator reads the codes in its workspace's tables on a phone, each whole — on a
390 px screen a product's stock record (库存) broke a lot code into three lines (LL7W / WJGRL / 3T9) and
every date into two, and the food-safety papers (食品安全证件) broke a licence number into five
(SC / 112 / 360 / 121 / 00002): codes to match against a crate's label or a certificate; the tables'
frames scroll sideways for the rest, the page does not. The record's way back (← 库存) is a thumb-sized
target, not a 19 px line, and so are a paper's file link (PDF), not a 25 x 16 px word, and 库存's product
names (16 px lines). A stock movement's note (采收 2026-12-06 2026年秋收批次) was squeezed to a character a line."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import PICKLES

ONE_BOX = "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"


def _each_on_one_line(cells) -> None:
    for cell in cells.all():  # a text broken over two lines has two boxes
        assert cell.evaluate(ONE_BOX) == 1, cell.inner_text()


def test_lot_codes_dates_and_licence_numbers_each_read_on_one_line(open_page, viewport):
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/stock")
    for link in page.locator("table.stock-list td a").all():  # a product's record: it was a 16 px line
        box = link.bounding_box()
        assert box is not None and box["height"] >= 40, box
    # not the pickles: the suite stocks them up with an English reason ("browser journeys"), data on a zh page
    record = page.locator("main a[href*='/station/stock/']").filter(has_not_text=PICKLES).first
    operator.submit_and_wait(lambda: record.click())
    expect(page.get_by_role("heading", level=2, name=operator.t("批次"), exact=True)).to_be_visible()
    operator.step("stock record")
    back = page.locator("main p.back a")  # ← 库存, the way back to the list
    box = back.bounding_box()
    assert box is not None and box["height"] >= 40, box  # it was a 19 px line of text
    cells = page.locator(".stock-lots td code, .stock-lots td.when, .stock-moves td code, .stock-moves td.when")
    assert cells.count() >= 3, "no lot on the demo product's stock record"
    _each_on_one_line(cells)
    notes = page.locator(".stock-moves td.note").filter(has_text="秋收批次")  # the demo lots' note
    assert notes.count() >= 1, "no movement with a note on the demo product's stock record"
    for note in notes.all():
        box = note.bounding_box()  # it was a 2-character column, the note one character a line
        assert box is not None and box["width"] >= 150, box

    operator.goto("/station/papers")
    operator.step("papers")
    cells = page.locator(".paper-list td code, .paper-list td .day")
    assert cells.count() >= 3, "no paper of the demo products"
    _each_on_one_line(cells)
    for link in page.locator(".paper-list td a").all():  # a paper's file (PDF): it was a 25 x 16 px word
        box = link.bounding_box()
        assert box is not None and box["height"] >= 40 and box["width"] >= 40, box
