"""AMI framing on bytes: split the stream into messages before decoding any text.

panoramisk 1.4 decodes each TCP read on its own and re-splits the whole buffer on every read.
That loses a UTF-8 character split across two reads ('José' arrives as 'Jos') and costs
quadratic time for a large message arriving in small reads. Framing on bytes, scanning only the
new bytes for the blank line that ends a message, fixes both (tests/collectors/test_framing.py).
"""

from __future__ import annotations

_END = b"\r\n\r\n"
_BANNER = b"Asterisk Call Manager/"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # an oversized message is dropped and counted, not kept
# A "Key: Value" line longer than this is cut to it (and counted): caller names, queue and
# interface names end up in rows and on pages. Asterisk's own fields are far shorter (a caller
# id name is at most 80 bytes in chan_pjsip); 4 KB leaves room for any channel variable.
MAX_FIELD_CHARS = 4096


class FrameReader:
    """Feed it bytes as they arrive; it returns each complete message as text."""

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes already searched for the terminator
        self._skipping = False  # inside an oversized message: drop until its end
        self.max_message_bytes = max_message_bytes
        self.version: str | None = None
        self.oversized = 0

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return the messages they complete, decoded (bad bytes replaced)."""
        self._buf += data
        if self.version is None and not self._read_banner():
            return []
        messages: list[str] = []
        while True:
            end = self._buf.find(_END, max(0, self._scanned - 3))
            if end < 0:
                self._scanned = len(self._buf)
                if len(self._buf) > self.max_message_bytes:
                    self._drop_oversized()
                return messages
            raw = bytes(self._buf[:end])
            del self._buf[: end + len(_END)]
            self._scanned = 0
            if self._skipping or len(raw) > self.max_message_bytes:
                self.oversized += not self._skipping
                self._skipping = False
                continue
            if raw.strip():
                messages.append(raw.decode("utf-8", "replace"))

    def _read_banner(self) -> bool:
        # The banner is one CRLF-terminated line, not a blank-line-terminated message.
        if not self._buf.startswith(_BANNER[: len(self._buf)]):
            self.version = ""  # no banner (a replayed stream): treat everything as messages
            return True
        line_end = self._buf.find(b"\r\n")
        if line_end < 0:
            return False
        self.version = self._buf[len(_BANNER) : line_end].decode("ascii", "replace").strip()
        del self._buf[: line_end + 2]
        return True

    def _drop_oversized(self) -> None:
        # Counted once per message, however many reads it spans (found by fuzzing:
        # tests/collectors/test_ami_fuzz.py).
        self.oversized += not self._skipping
        self._skipping = True
        keep = self._buf[-3:]  # may hold the start of the terminator
        self._buf = bytearray(keep)
        self._scanned = 0


def cut_long_fields(text: str, limit: int = MAX_FIELD_CHARS) -> tuple[str, int]:
    """`text` with each line longer than `limit` cut to `limit` characters; and how many were.

    Only a message longer than `limit` can hold such a line, so callers test that first and
    the usual message costs one len()."""
    lines = text.split("\n")
    cut = 0
    for i, line in enumerate(lines):
        if len(line) > limit:
            lines[i] = line[:limit].rstrip("\r") + ("\r" if line.endswith("\r") else "")
            cut += 1
    return ("\n".join(lines), cut) if cut else (text, 0)


def parse_message(text: str) -> dict[str, str]:
    """`Key: Value` lines to a dict; the first of a repeated key wins; other lines are ignored.

    Asterisk sometimes ends lines with a bare LF inside command output, so both are accepted;
    nothing else ends a line (str.splitlines() would also cut a caller name at U+2028 or
    U+0085, found by fuzzing: tests/collectors/test_ami_fuzz.py).
    """
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")  # "PausedReason:" with an empty value
            if not sep:
                continue
        fields.setdefault(key.strip(), value.strip())
    return fields
