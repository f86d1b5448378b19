"""scripts/run_localstripe.py changes only where localstripe keeps its store (in memory, not the shared
pickle file): the same PaymentIntent flow gets the same answers from it as from the stock server
(`python -m localstripe.server --from-scratch`), and it never writes the stock server's file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import requests
import stripe

from tests.orders import emulator

pytest.importorskip("localstripe")

SK = "sk_test_launcher"
#: Where the stock server keeps its store (localstripe 1.15.10, `resources.Store.dump_to_disk`).
STOCK_FILE = Path("/tmp/localstripe.pickle")
#: Volatile fields: ids, secrets and times differ between any two runs.
VOLATILE = {
    "id",
    "client_secret",
    "created",
    "payment_intent",
    "charge",
    "latest_charge",
    "payment_method",
    "url",
    "balance_transaction",
    "source",
    "customer",
    "date",
    "available_on",
}


def _shape(obj):
    """An answer without its volatile values (keys kept), recursively."""
    if isinstance(obj, dict):
        return {k: ("<volatile>" if k in VOLATILE else _shape(v)) for k, v in sorted(obj.items())}
    if isinstance(obj, list):
        return [_shape(v) for v in obj]
    return obj


def _flow(base: str) -> list:
    """What the shop asks of Stripe (orders/providers/stripe.py, against the emulator): create an
    intent, attach a card and confirm, refund part, read it back; a declined card; the webhook set-up."""
    session = requests.Session()
    session.trust_env = False
    client = stripe.StripeClient(
        SK, http_client=stripe.RequestsClient(session=session), base_addresses={"api": base}, max_network_retries=0
    )
    answers = []
    hook = session.post(f"{base}/_config/webhooks/shop", json={"url": "http://127.0.0.1:9/hook", "secret": "whsec_x"})
    answers.append(("webhook config", hook.status_code))
    pi = client.v1.payment_intents.create(
        params={
            "amount": 4500,
            "currency": "cny",
            "payment_method_types": ["card"],
            "metadata": {"order_code": "ABC", "payment": "ABC-P-1"},
        },
    )
    answers.append(("created", _shape(pi.to_dict())))
    client.v1.payment_intents.update(pi.id, params={"payment_method": "pm_card_visa"})
    confirmed = client.v1.payment_intents.confirm(pi.id)
    answers.append(("confirmed", confirmed.status, confirmed.amount))
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1500})
    answers.append(("refund", refund.status, refund.amount, refund.currency))
    again = client.v1.payment_intents.retrieve(pi.id)
    answers.append(("retrieved", again.status, again.amount, again.currency, again.metadata.to_dict()))
    declined = client.v1.payment_intents.create(
        params={"amount": 100, "currency": "cny", "payment_method_types": ["card"]}
    )
    client.v1.payment_intents.update(declined.id, params={"payment_method": "pm_card_chargeCustomerFail"})
    with pytest.raises(stripe.CardError) as refused:
        client.v1.payment_intents.confirm(declined.id)
    answers.append(("declined", refused.value.http_status, refused.value.code))
    return answers


def _file_state():
    return STOCK_FILE.stat().st_mtime_ns if STOCK_FILE.exists() else None


def test_the_launcher_answers_as_the_stock_server_and_writes_no_file():
    port = emulator.free_port()
    proc, base = emulator.start(
        [sys.executable, str(emulator.ROOT / "scripts" / "run_localstripe.py"), "--port", str(port), "--quiet"], port
    )
    before = _file_state()
    try:
        ours = _flow(base)
    finally:
        emulator.stop(proc)
    assert _file_state() == before  # in memory: the shared file was neither written nor created

    port = emulator.free_port()
    proc, base = emulator.start(
        [sys.executable, "-m", "localstripe.server", "--port", str(port), "--from-scratch"], port
    )
    try:
        stock = _flow(base)
    finally:
        emulator.stop(proc)
        if before is None:
            STOCK_FILE.unlink(missing_ok=True)  # the stock server wrote it; it was not there before
    assert ours == stock
    assert ours[2] == ("confirmed", "succeeded", 4500) and ours[3][:3] == ("refund", "succeeded", 1500)


def test_the_launcher_refuses_a_localstripe_it_was_not_checked_against(tmp_path):
    """A different installed version stops it (a new release must be checked again)."""
    fake = tmp_path / "localstripe-9.9.9.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: localstripe\nVersion: 9.9.9\n")
    (fake / "top_level.txt").write_text("localstripe\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    import subprocess

    res = subprocess.run(
        [sys.executable, str(emulator.ROOT / "scripts" / "run_localstripe.py"), "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode != 0 and "localstripe 9.9.9 is installed" in res.stderr
