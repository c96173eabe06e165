"""The SMTP sender's mail transaction puts the same bytes on the wire as aiosmtplib's `sendmail`
(it is made from the client's own commands, without parsing plain addresses again)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiosmtplib
import pytest
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from cycle_engine.notifications.senders.base import PermanentMailError
from cycle_engine.notifications.senders.smtp import (
    SmtpMailSender,
    as_transmitted,
    envelope_address,
)
from cycle_engine.notifications.settings import SmtpSettings

MESSAGE = (
    b"From: ce@example.org\r\nTo: Ana <ana@research.example.org>\r\nSubject: hello\r\n\r\n"
    b".a line that starts with a dot\r\nhello\r\n"
)


class Transcript:
    """A scripted SMTP server on loopback that keeps every byte each connection sends it."""

    def __init__(self, refuse: frozenset[bytes] = frozenset(), *, esmtp: bool = True) -> None:
        self.received: list[bytes] = []
        self.refuse = refuse
        self.esmtp = esmtp

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = bytearray()
        self.received.append(b"")
        index = len(self.received) - 1
        writer.write(b"220 transcript ready\r\n")
        try:
            while line := await reader.readline():
                seen += line
                command = line.split(b" ", 1)[0].strip().upper()
                if command == b"EHLO" and not self.esmtp:
                    writer.write(b"502 5.5.2 EHLO not implemented\r\n")
                elif command == b"EHLO":
                    writer.write(b"250-transcript\r\n250-SIZE 10000000\r\n250 8BITMIME\r\n")
                elif command == b"RCPT" and any(a in line for a in self.refuse):
                    writer.write(b"550 5.1.1 no such user\r\n")
                elif command == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    while (body := await reader.readline()) != b".\r\n":
                        seen += body
                    seen += b".\r\n"
                    writer.write(b"250 2.0.0 accepted\r\n")
                elif command == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        finally:
            self.received[index] = bytes(seen)
            writer.close()


@contextlib.asynccontextmanager
async def transcript_server(transcript: Transcript) -> AsyncIterator[int]:
    server = await asyncio.start_server(transcript.serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def by_sendmail(port: int, message: bytes, recipients: list[str]) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, start_tls=False, local_hostname="cycle-engine"
    )
    await client.connect()
    for _ in range(2):
        await client.sendmail("ce@example.org", recipients, message)
    await client.quit()


async def by_sender(port: int, message: bytes, recipients: list[str]) -> None:
    mailer = SmtpMailSender(SmtpSettings(host="127.0.0.1", port=port, tls="none", pool_size=1))
    for _ in range(2):
        await mailer.send(message, sender="ce@example.org", recipients=recipients)
    await mailer.close()


@pytest.mark.parametrize(
    ("message", "recipients"),
    [
        (MESSAGE, ["ana@research.example.org"]),
        (MESSAGE.replace(b"\r\n", b"\n"), ["ana@research.example.org", "eve@donor.example.org"]),
        (MESSAGE.rstrip(b"\r\n"), ["Ana Lopez <ana@research.example.org>"]),
    ],
    ids=["crlf", "bare-newlines-two-recipients", "display-name-no-final-newline"],
)
def test_the_bytes_on_the_wire_are_those_of_sendmail(message: bytes, recipients: list[str]) -> None:
    """Two messages on one connection (EHLO, MAIL FROM with SIZE, RCPT TO, DATA with the dots
    doubled, QUIT): the same bytes from the sender as from `sendmail`."""

    async def both() -> tuple[Transcript, Transcript]:
        expected, actual = Transcript(), Transcript()
        async with transcript_server(expected) as port:
            await by_sendmail(port, message, recipients)
        async with transcript_server(actual) as port:
            await by_sender(port, message, recipients)
        return expected, actual

    expected, actual = asyncio.run(both())
    assert expected.received[0].count(b"MAIL FROM:<ce@example.org> size=") == 2
    assert actual.received == expected.received


def test_a_server_without_ehlo_is_greeted_with_helo_as_sendmail_does() -> None:
    """EHLO refused: HELO, and no SIZE on MAIL FROM (the server announced nothing)."""

    async def both() -> tuple[Transcript, Transcript]:
        expected, actual = Transcript(esmtp=False), Transcript(esmtp=False)
        async with transcript_server(expected) as port:
            await by_sendmail(port, MESSAGE, ["ana@research.example.org"])
        async with transcript_server(actual) as port:
            await by_sender(port, MESSAGE, ["ana@research.example.org"])
        return expected, actual

    expected, actual = asyncio.run(both())
    assert b"HELO cycle-engine\r\nMAIL FROM:<ce@example.org>\r\n" in expected.received[0]
    assert actual.received == expected.received


def test_a_refused_envelope_is_reset_as_sendmail_does() -> None:
    """All recipients refused: the transaction is reset (RSET) and the error is permanent."""
    refuse = frozenset({b"eve@donor.example.org"})

    async def run() -> tuple[Transcript, Transcript]:
        expected, actual = Transcript(refuse), Transcript(refuse)
        async with transcript_server(expected) as port:
            client = aiosmtplib.SMTP(
                hostname="127.0.0.1", port=port, start_tls=False, local_hostname="cycle-engine"
            )
            await client.connect()
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await client.sendmail("ce@example.org", ["eve@donor.example.org"], MESSAGE)
            await client.quit()
        async with transcript_server(actual) as port:
            mailer = SmtpMailSender(
                SmtpSettings(host="127.0.0.1", port=port, tls="none", pool_size=1)
            )
            with pytest.raises(PermanentMailError, match="no such user"):
                await mailer.send(
                    MESSAGE, sender="ce@example.org", recipients=["eve@donor.example.org"]
                )
            await mailer.close()
        return expected, actual

    expected, actual = asyncio.run(run())
    assert b"RSET\r\n" in expected.received[0]
    # the sender closes a connection after an error instead of saying QUIT on it
    assert actual.received[0] == expected.received[0].removesuffix(b"QUIT\r\n")


ADDRESSES = st.one_of(
    st.emails(),
    st.text(
        alphabet=st.sampled_from("ab.@-+_<> \"'\\\t\r\nç()[],;:"),
        max_size=24,
    ),
)


@given(address=ADDRESSES)
def test_envelope_addresses_are_those_sendmail_sends(address: str) -> None:
    """The same `<address>` as aiosmtplib's quoting, or a ValueError where it has one (or where
    the address is not ASCII, which sendmail refuses when it encodes the command)."""
    try:
        expected: bytes | None = quote_address(address).encode("ascii")
    except ValueError:
        expected = None
    try:
        actual: bytes | None = envelope_address(address)
    except ValueError:
        actual = None
    assert actual == expected


@given(data=st.binary(max_size=64) | st.text(alphabet="ab\r\n.", max_size=64).map(str.encode))
def test_a_message_is_transmitted_as_aiosmtplib_normalises_it(data: bytes) -> None:
    assert as_transmitted(data) == normalize_message_line_endings(data)
