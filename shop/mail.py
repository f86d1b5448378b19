"""Outgoing e-mail. With no MAIL_SERVER the message is written to the log (the embedded default);
otherwise it is sent over SMTP (MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME).

Once per task: a Celery task can run twice (published twice by the outbox, or redelivered after
its worker died), so mail-sending tasks call `send_once(task_mail_key(self), ...)`. The key (task
name + task id, the same on every delivery of one message) is claimed in `sent_mail` before the
SMTP call and marked sent after it: a second run finds it sent and sends nothing; a claim left by a
worker that died mid-send is taken over after MAIL_CLAIM_STALE_SECONDS; a run that finds a fresh
claim of someone else retries later (`MailInFlight`). The Message-ID is derived from the key, so
even the unavoidable repeat (killed between the SMTP reply and the commit) is one message to
clients that collapse duplicates. With no broker (tasks run in process, once) there is no key.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import pk
from shop.extensions import db
from shop.timeutil import now_utc

log = logging.getLogger("shop.mail")

#: Retried by the mail tasks: SMTP trouble, and another run holding the key right now.
RETRY_ON: tuple = (OSError, smtplib.SMTPException)


class MailInFlight(Exception):
    """Another run of the same task is sending this mail right now: try again later."""


class MailsLeft(Exception):
    """A task that sends several mails (`send_many`) could not send some of them (SMTP trouble, another
    run holding a key): it runs again, and sends only those, each keyed on its own."""


RETRY_ON = RETRY_ON + (MailInFlight, MailsLeft)


class SentMail(db.Model):
    """One key per mail-sending task run that sent (or is sending) its mail. No addresses, no text."""

    __tablename__ = "sent_mail"

    id: Mapped[int] = pk()
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    #: 'sending' (claimed, SMTP call under way) or 'sent'.
    status: Mapped[str] = mapped_column(sa.String(16))
    claimed_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]


#: An attachment: (file name, content, MIME type such as "image/png").
Attachment = tuple[str, bytes, str]


def build_message(
    to: str,
    subject: str,
    body: str,
    *,
    key: str | None = None,
    attachments: tuple[Attachment, ...] | list[Attachment] = (),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config.get("MAIL_DEFAULT_SENDER") or "noreply@localhost"
    msg["To"] = to
    msg["Subject"] = subject
    if key:
        msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@village-eline>"
    else:
        msg["Message-ID"] = make_msgid(domain="village-eline")
    msg.set_content(body)
    for filename, content, mimetype in attachments:
        maintype, _sep, subtype = mimetype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def deliver(
    to: str,
    subject: str,
    body: str,
    *,
    key: str | None = None,
    attachments: tuple[Attachment, ...] | list[Attachment] = (),
) -> None:
    """Send (or log) one plain-text message with its attachments, now, in this process. The MIME
    message is built only for SMTP (it was a third of a logged booking mail's cost)."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        names = ", ".join(f"{name} ({len(content)} bytes)" for name, content, _type in attachments)
        log.info("mail to %s: %s\n%s%s", to, subject, body, f"\n[attached: {names}]" if names else "")
        return
    msg = build_message(to, subject, body, key=key, attachments=attachments)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)


def render_mail(template: str, **context) -> str:
    """The text of a mail from its template (templates/emails/): the app's Jinja environment, with its
    filters and gettext in the current locale, without the context processors `render_template`
    runs for pages (labels of pages' widgets a mail never shows, computed for every render). A mail
    template uses only what it is given."""
    return current_app.jinja_env.get_template(template).render(**context)


def in_language_of(user):
    """A mail's text in its recipient's language: `with in_language_of(user): ...` renders subject and body
    in `user.locale`, or the app's default (BABEL_DEFAULT_LOCALE) for an account that never chose one. A task
    has no request whose language it could take."""
    return force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])


def mail_key(task_name: str, task_id: str) -> str:
    """The dedupe key of one task message: the same for the task run on its own and for the same
    message run in a batch (`shop.outbox.run_batch`), so the two never both send."""
    return f"{task_name}:{task_id}"


def task_mail_key(task) -> str | None:
    """The dedupe key of the running task (same on every delivery of one message); None when tasks
    run in process with no broker, where nothing is delivered twice."""
    if current_app.extensions["celery"].conf.task_always_eager or not task.request.id:
        return None
    return mail_key(task.name, task.request.id)


def send_once(
    key: str | None, to: str, subject: str, body: str, *, attachments: tuple[Attachment, ...] | list[Attachment] = ()
) -> bool:
    """Send unless the mail with this key was already sent. Returns whether this call sent it.
    Commits its own short transactions: call it with nothing else pending in the session."""
    if not to:
        return False
    if key is None:
        deliver(to, subject, body, attachments=attachments)
        return True
    if not _claim(key):
        log.info("mail %s already sent: not sending again", key)
        return False
    try:
        deliver(to, subject, body, key=key, attachments=attachments)
    except Exception:
        _release(key)
        raise
    _mark_sent([key])
    return True


def _mark_sent(keys: list[str]) -> None:
    """The mails with these keys went out: one UPDATE, committed."""
    db.session.execute(sa.update(SentMail).where(SentMail.key.in_(keys)).values(status="sent", sent_at=now_utc()))
    db.session.commit()


@dataclass
class Mail:
    """One message for `send_many`: its dedupe key (None: no dedupe), address, subject, text, attachments."""

    key: str | None
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] | list[Attachment] = ()


def send_many(mails: list[Mail]) -> set[str]:
    """`send_once` for several mails, with the same guarantees and three statements in all instead
    of three per mail: one INSERT claims every new key, each claimed mail is delivered, one UPDATE
    marks the delivered ones sent. A key that was already there goes through `_claim` (sent: skip;
    a live run holds it: retry later; a dead run's claim: take over). Returns the keys of the mails
    to try again later (SMTP trouble, a live claim elsewhere); their claims are given back. Commits
    its own short transactions: call it with nothing else pending in the session."""
    mails = [m for m in mails if m.to]
    claimed = _claim_new([m.key for m in mails if m.key])
    retry: set[str] = set()
    sent: list[str] = []
    for m in mails:
        if m.key is not None and m.key not in claimed:
            try:
                if not _claim(m.key):
                    log.info("mail %s already sent: not sending again", m.key)
                    continue
            except MailInFlight:
                retry.add(m.key)
                continue
        try:
            deliver(m.to, m.subject, m.body, key=m.key, attachments=m.attachments)
        except Exception:
            log.exception("mail %s to %s not sent; it will be tried again", m.key, m.to)
            if m.key is not None:
                _release(m.key)
                retry.add(m.key)
            continue
        if m.key is not None:
            sent.append(m.key)
    if sent:
        _mark_sent(sent)
    return retry


def send_batch(task, items: list[tuple], load, mail_for) -> list[tuple]:
    """The batch runner of a mail task (`shop.outbox.batch_runner`): `load(ids)` -> {id: object}
    for the first argument of every item, in a fixed number of statements; `mail_for(object,
    *other args)` -> (address, subject, text[, attachments]) or None (nothing to send). Each mail is
    keyed as the task alone would key it (`mail_key`). Returns the items to retry on their own."""
    objects = load({args[0] for _task_id, args, _kwargs in items})
    mails: dict[str, Mail] = {}
    for task_id, (object_id, *rest), _kwargs in items:
        obj = objects.get(object_id)
        mail = mail_for(obj, *rest) if obj is not None else None
        if mail is not None:
            mails[task_id] = Mail(mail_key(task.name, task_id), *mail)
    db.session.commit()  # end the read transaction before the mails' own short ones
    retry = send_many(list(mails.values()))
    return [item for item in items if item[0] in mails and mails[item[0]].key in retry]


def _claim_new(keys: list[str]) -> set[str]:
    """Claim the keys not yet in `sent_mail` in one statement; returns the ones this call claimed."""
    if not keys:
        return set()
    now = now_utc()
    rows = (
        db.session.execute(
            _insert()(SentMail.__table__)
            .values([{"key": k, "status": "sending", "claimed_at": now} for k in keys])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(SentMail.__table__.c.key)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    return set(rows)


def _insert():
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _claim(key: str) -> bool:
    """True if this run now owns the key; False if the mail was sent; MailInFlight if a live run owns it."""
    session = db.session
    now = now_utc()
    inserted = session.execute(
        _insert()(SentMail.__table__)
        .values(key=key, status="sending", claimed_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SentMail.__table__.c.id)
    ).scalar()
    if inserted is not None:
        session.commit()
        return True
    row = session.execute(sa.select(SentMail.status, SentMail.claimed_at).where(SentMail.key == key)).one()
    if row.status == "sent":
        session.commit()
        return False
    stale = timedelta(seconds=int(current_app.config.get("MAIL_CLAIM_STALE_SECONDS", 300)))
    if row.claimed_at > now - stale:
        session.commit()
        raise MailInFlight(key)
    taken = session.execute(  # the claimant died mid-send: take over (one taker wins)
        sa.update(SentMail.__table__)
        .where(SentMail.key == key, SentMail.status == "sending", SentMail.claimed_at == row.claimed_at)
        .values(claimed_at=now)
    ).rowcount
    session.commit()
    if taken != 1:
        raise MailInFlight(key)
    return True


def _release(key: str) -> None:
    """The SMTP call failed: give the key back so the retry can send."""
    try:
        db.session.rollback()
        db.session.execute(sa.delete(SentMail).where(SentMail.key == key, SentMail.status == "sending"))
        db.session.commit()
    except Exception:  # the claim turns stale and is taken over
        log.exception("mail %s: could not release the claim", key)
        db.session.rollback()


def forget_sent(now: datetime | None = None) -> int:
    """Delete keys older than MAIL_DEDUPE_DAYS (run by the outbox drain task). Returns how many."""
    days = int(current_app.config.get("MAIL_DEDUPE_DAYS", 30))
    cutoff = (now or now_utc()) - timedelta(days=days)
    count = db.session.execute(sa.delete(SentMail).where(SentMail.claimed_at < cutoff)).rowcount
    db.session.commit()
    return count


@shared_task(name="shop.mail.send_mail", bind=True, autoretry_for=RETRY_ON, retry_backoff=True, max_retries=5)
def send_mail(self, to: str, subject: str, body: str) -> None:
    """Send (or log) one plain-text message, once per task id."""
    send_once(task_mail_key(self), to, subject, body)
