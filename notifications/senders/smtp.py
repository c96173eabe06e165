"""SMTP delivery with aiosmtplib: a small connection pool, bounded concurrency, a deadline on
the whole exchange, and every failure sorted into "try again later" or "give up".

TLS is never optional when asked for: with `starttls` the STARTTLS upgrade is required (a
server that does not offer it is an error, not a reason to send in plain text), and with
credentials the settings refuse `none` outright.

Classification: 4xx replies, refused and dropped connections, timeouts and a server without the
STARTTLS the settings require raise TransientMailError (retried until the message expires);
5xx replies raise PermanentMailError with the server's reply; a partly refused envelope returns
a SendResult listing each refused address.

The mail transaction (`transaction`) is `aiosmtplib.SMTP.sendmail`'s, with the same commands and
bytes on the wire, made from the client's own commands: plain addresses are not parsed again
(`envelope_address`), and a message that already has CRLF line endings is not normalised again
to announce its size. Those two were about a sixth of the client's processor time per email
(55 of 330 us, `bench.mail`'s messages on loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Sequence

import aiosmtplib
from aiosmtplib.email import parse_address
from aiosmtplib.protocol import normalize_message_line_endings

from cycle_engine.notifications.senders.base import (
    MailError,
    PermanentMailError,
    RecipientResult,
    SendResult,
    TransientMailError,
)
from cycle_engine.notifications.settings import SmtpSettings

#: An address sent as it is: a dot-atom local part at a domain of letters, digits and hyphens
#: (what the engine stores). aiosmtplib's parsing returns these unchanged; anything else goes
#: through it (`envelope_address`).
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def envelope_address(address: str) -> bytes:
    """`<address>` for MAIL FROM and RCPT TO, as `sendmail` quotes it; raises ValueError for an
    address that cannot be sent (aiosmtplib's check) or is not ASCII."""
    if _PLAIN_ADDRESS.fullmatch(address) is None:
        address = parse_address(address)
    return f"<{address}>".encode("ascii")


def as_transmitted(data: bytes) -> bytes:
    """`data` as DATA transmits it: CRLF line endings and a final CRLF. A message built with
    them (the engine's are) is returned as it is, after a count instead of a rewrite."""
    if data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r") == data.count(b"\r\n"):
        return data
    return normalize_message_line_endings(data)


async def transaction(
    client: aiosmtplib.SMTP, data: bytes, sender: str, recipients: Sequence[str]
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    """One mail transaction on `client` (EHLO done), as `aiosmtplib.SMTP.sendmail` makes it:
    MAIL FROM with the message's size when the server announces SIZE, RCPT TO for each
    recipient, DATA; RSET after a refusal. Returns the refused recipients' replies and the
    reply to DATA; raises as `sendmail` does."""
    mail_from = envelope_address(sender)  # every address checked before anything is sent
    rcpt_to = [(address, envelope_address(address)) for address in recipients]
    message = as_transmitted(data)
    options = [b"size=%d" % len(message)] if client.supports_extension("size") else []
    try:
        response = await client.execute_command(b"MAIL", b"FROM:" + mail_from, *options)
        if response.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
        refused: list[aiosmtplib.SMTPRecipientRefused] = []
        for address, quoted in rcpt_to:
            response = await client.execute_command(b"RCPT", b"TO:" + quoted)
            if response.code not in (
                aiosmtplib.SMTPStatus.completed,
                aiosmtplib.SMTPStatus.will_forward,
            ):
                refused.append(
                    aiosmtplib.SMTPRecipientRefused(response.code, response.message, address)
                )
        if len(refused) == len(rcpt_to):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        response = await client.data(message)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()  # reset the envelope, as sendmail does
        raise
    errors = {r.recipient: aiosmtplib.SMTPResponse(r.code, r.message) for r in refused}
    return errors, response.message


class SmtpMailSender:
    """Sends through one SMTP server, reusing up to `settings.pool_size` connections."""

    def __init__(self, settings: SmtpSettings, *, local_hostname: str = "cycle-engine") -> None:
        self.settings = settings
        self._local_hostname = local_hostname
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None
        self._tls_context: ssl.SSLContext | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.pool_size)
        return self._slots

    def _context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=self.settings.ca_file)
        return self._tls_context

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            local_hostname=self._local_hostname,
            timeout=s.timeout,
            use_tls=s.tls == "tls",
            start_tls=s.tls == "starttls",
            tls_context=self._context() if s.tls != "none" else None,
        )
        await client.connect()
        try:
            if client.is_ehlo_or_helo_needed:  # as aiosmtplib does before a first command
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    if not client.is_connected:
                        raise
                    await client.helo()
        except BaseException:
            client.close()
            raise
        return client

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """Send within `settings.timeout`; raises TransientMailError or PermanentMailError."""
        async with self._semaphore():
            client = self._idle.pop() if self._idle else None
            reused = client is not None and client.is_connected
            try:
                return await self._send_on(client if reused else None, data, sender, recipients)
            except TransientMailError as error:
                if not (reused and isinstance(error.__cause__, aiosmtplib.SMTPServerDisconnected)):
                    raise
                # A pooled connection the server had quietly closed: one fresh attempt.
                return await self._send_on(None, data, sender, recipients)

    async def _send_on(
        self,
        client: aiosmtplib.SMTP | None,
        data: bytes,
        sender: str,
        recipients: Sequence[str],
    ) -> SendResult:
        try:
            async with asyncio.timeout(self.settings.timeout):
                if client is None:
                    client = await self._connect()
                errors, accepted = await transaction(client, data, sender, recipients)
        except Exception as error:
            if client is not None:
                client.close()
            mapped = classify(error)
            if mapped is error:
                raise
            raise mapped from error
        except BaseException:
            if client is not None:
                client.close()
            raise
        if client.is_connected:
            self._idle.append(client)
        response = f"250 {accepted}"  # the answer to DATA: aiosmtplib keeps only its text
        results = tuple(
            RecipientResult(
                address=address,
                accepted=False,
                code=errors[address].code,
                reply=errors[address].message,
            )
            if address in errors
            else RecipientResult(address=address, accepted=True, code=250, reply=accepted)
            for address in recipients
        )
        return SendResult(recipients=results, response=response)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def classify(error: Exception) -> Exception:
    """Map an aiosmtplib (or network) error to TransientMailError / PermanentMailError.

    Errors that are not about mail (cancellation, programming errors) are returned as they are,
    so they propagate unchanged.
    """
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        results = tuple(
            RecipientResult(address=r.recipient, accepted=False, code=r.code, reply=r.message)
            for r in error.recipients
        )
        first = error.recipients[0]
        kind: type[MailError] = (
            TransientMailError
            if any(400 <= r.code < 500 for r in error.recipients)
            else PermanentMailError
        )
        return kind(f"all recipients refused: {first.message}", first.code, results)
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return TransientMailError(
            f"SMTP login refused (check credentials): {error.message}", error.code
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 400 <= error.code < 500:
            return TransientMailError(error.message, error.code)
        return PermanentMailError(error.message, error.code)
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return TransientMailError(f"server cannot do what the settings require: {error}")
    if isinstance(error, TimeoutError):
        return TransientMailError("timed out talking to the SMTP server", maybe_delivered=True)
    if isinstance(error, aiosmtplib.SMTPException | OSError):
        return TransientMailError(f"connection problem: {error}")
    if isinstance(error, ValueError):
        return PermanentMailError(f"message cannot be sent: {error}")
    return error
