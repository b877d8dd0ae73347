"""A small PDF writer: pages of text (the standard Helvetica fonts, WinAnsi encoding: French
accents), filled squares (a QR code), and one embedded file (PDF 1.7 /EmbeddedFiles with an
/AF association, as PDF/A-3 does) — enough for a summary a patient prints or keeps, with its
machine-readable form inside. No dependency: ISO 32000-1, https://www.iso.org/standard/51502.html
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

WIDTH, HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 50.0
#: Characters of text the WinAnsi fonts lack, written with ones they have.
_PLAIN = str.maketrans({"→": "->", "≥": ">=", "≤": "<=", "✓": "v", "•": "-", "\u202f": " "})


def _encoded(text: str) -> bytes:
    raw = text.translate(_PLAIN).encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else f"#{ord(c):02X}" for c in text)


def wrap(text: str, size: float, width: float = WIDTH - 2 * MARGIN) -> list[str]:
    """``text`` cut into lines that fit ``width`` at ``size`` points (Helvetica's mean advance
    is about half the size; 0.53 keeps French text inside)."""
    per_line = max(10, int(width / (size * 0.53)))
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words, line = paragraph.split(), ""
        for word in words:
            while len(word) > per_line:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:per_line])
                word = word[per_line:]
            if line and len(line) + 1 + len(word) > per_line:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


@dataclass
class Document:
    """Pages written top to bottom; ``text`` moves down and opens a new page when full."""

    pages: list[list[bytes]] = field(default_factory=lambda: [[]])
    y: float = HEIGHT - MARGIN
    attachment: tuple[str, str, bytes] | None = None  # (file name, MIME type, bytes)
    indent: float = 0.0

    def _room(self, height: float) -> None:
        if self.y - height < MARGIN:
            self.pages.append([])
            self.y = HEIGHT - MARGIN

    def text(self, text: str, size: float = 10, *, bold: bool = False, gap: float = 2) -> None:
        for line in wrap(text, size, WIDTH - 2 * MARGIN - self.indent):
            self._room(size + gap)
            self.y -= size + gap
            font = "F2" if bold else "F1"
            self.pages[-1].append(
                b"BT /%s %.1f Tf %.1f %.1f Td (%s) Tj ET"
                % (font.encode(), size, MARGIN + self.indent, self.y, _encoded(line))
            )

    def space(self, height: float = 6) -> None:
        self.y -= height

    def squares(self, x: float, y: float, cell: float, matrix: list[list[int]]) -> None:
        """A matrix of dark cells (a QR code) with its top-left corner at ``(x, y)``."""
        ops = [b"0 g"]
        for row, cells in enumerate(matrix):
            for column, dark in enumerate(cells):
                if dark:
                    ops.append(
                        b"%.2f %.2f %.2f %.2f re"
                        % (x + column * cell, y - (row + 1) * cell, cell, cell)
                    )
        ops.append(b"f")
        self.pages[-1].append(b"\n".join(ops))

    def attach(self, name: str, mime: str, data: bytes) -> None:
        self.attachment = (name, mime, data)

    def render(self, title: str) -> bytes:
        objects: list[bytes] = []

        def add(body: bytes) -> int:
            objects.append(body)
            return len(objects)

        catalog = add(b"")  # filled in last
        pages = add(b"")
        fonts = [
            add(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % f)
            for f in (b"Helvetica", b"Helvetica-Bold")
        ]
        kids = []
        for content in self.pages:
            stream = zlib.compress(b"\n".join(content))
            body = add(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                % (len(stream), stream)
            )
            kids.append(
                add(
                    b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>"
                    % (pages, WIDTH, HEIGHT, body, fonts[0], fonts[1])
                )
            )
        objects[pages - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % k for k in kids),
            len(kids),
        )
        info = add(b"<< /Title (%s) /Producer (Carnet) >>" % _encoded(title))
        names = b""
        if self.attachment is not None:
            name, mime, data = self.attachment
            packed = zlib.compress(data)
            embedded = add(
                b"<< /Type /EmbeddedFile /Subtype /%s /Filter /FlateDecode /Length %d "
                b"/Params << /Size %d >> >>\nstream\n%s\nendstream"
                % (_name(mime).encode(), len(packed), len(data), packed)
            )
            spec = add(
                b"<< /Type /Filespec /F (%s) /UF (%s) /AFRelationship /Data "
                b"/Desc (%s) /EF << /F %d 0 R >> >>"
                % (_encoded(name), _encoded(name), _encoded(mime), embedded)
            )
            names = b" /Names << /EmbeddedFiles << /Names [(%s) %d 0 R] >> >> /AF [%d 0 R]" % (
                _encoded(name),
                spec,
                spec,
            )
        objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages, names)
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, written in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, written)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            catalog,
            info,
            xref,
        )
        return bytes(out)
