"""Outgoing e-mail as a Celery task. With no MAIL_SERVER the message is written to the log
(the embedded default); otherwise it is sent over SMTP (MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from celery import shared_task
from flask import current_app

log = logging.getLogger("shop.mail")


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config.get("MAIL_DEFAULT_SENDER") or "noreply@localhost"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


@shared_task(name="shop.mail.send_mail", autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True,
             max_retries=5)
def send_mail(to: str, subject: str, body: str) -> None:
    """Send (or log) one plain-text message."""
    if not to:
        return
    msg = build_message(to, subject, body)
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("mail to %s: %s\n%s", to, subject, body)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)
