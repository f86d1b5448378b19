"""The mails a test sent: with no MAIL_SERVER, `shop.mail` writes each one to its log ("mail to %s",
recipient, subject, body), and pytest's `caplog` keeps the records."""

from __future__ import annotations


def mails_to(caplog, to: str) -> list[tuple[str, str]]:
    """(subject, body) of each mail sent to `to`, oldest first."""
    return [
        (r.args[1], r.args[2])
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == to
    ]


def recall_mails(caplog, to: str) -> list[str]:
    """The log line of each recall mail (its subject says 召回) sent to `to`, oldest first."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == to and "召回" in r.args[1]
    ]
