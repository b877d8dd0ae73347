"""What a file really is, from its bytes (DOC-8: the checks look at the content, not the name)."""

from __future__ import annotations

PDF = "application/pdf"
TEXT = "text/plain"
RTF = "application/rtf"
JPEG = "image/jpeg"
TIFF = "image/tiff"
XML = "text/xml"

#: DOC-8: what a patient may upload, and how much.
PATIENT_TYPES = frozenset({PDF, TEXT, RTF, JPEG, TIFF})
PATIENT_MAX_BYTES = 5 * 1024 * 1024
#: Pros also send structured CDA documents; their software sends larger files.
PRO_TYPES = PATIENT_TYPES | {XML}
PRO_MAX_BYTES = 20 * 1024 * 1024

#: The file extension a person's computer expects for each type.
EXTENSIONS = {PDF: ".pdf", TEXT: ".txt", RTF: ".rtf", JPEG: ".jpg", TIFF: ".tif", XML: ".xml"}

ALIASES = {"application/xml": XML, "text/rtf": RTF, "image/jpg": JPEG, "image/pjpeg": JPEG}


def file_name(title: str, mime: str) -> str:
    """A safe file name for a document: its title (letters, digits, `` -_.``), its type's
    extension — in a download, an e-mail attachment, an export."""
    stem = "".join(c if c.isalnum() or c in " -_." else "_" for c in title).strip(" .")
    return f"{stem[:100] or 'document'}{EXTENSIONS.get(normalize_mime(mime), '')}"


def normalize_mime(mime: str) -> str:
    base = mime.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def sniff(content: bytes) -> str | None:
    """The MIME type the bytes prove, or None when they prove none we accept."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if content.startswith(b"{\\rtf"):
        return RTF
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<ClinicalDocument")) and _is_text(content):
        return XML
    if _is_text(content):
        return TEXT
    return None


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            return False
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    return controls == 0
