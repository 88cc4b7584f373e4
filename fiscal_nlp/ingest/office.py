"""What an Office file is, from its container: a ZIP package (.xlsx, .docx) or an OLE2 compound file.

OOXML files (.xlsx/.docx) are ZIP packages; a password-protected one is not a ZIP at all but
an OLE2 compound file (CFB) holding an ``EncryptedPackage`` stream (MS-OFFCRYPTO). Legacy
binary files (.xls, .doc) are OLE2 too, with a ``Workbook``/``Book`` or ``WordDocument``
stream. Nothing is decrypted: an encrypted file becomes a clear error.
"""
from __future__ import annotations

import io
import zipfile

from .errors import IngestError

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

# Which reader a package's main part belongs to.
PACKAGE_PARTS = {"xl/workbook.xml": "xlsx", "xl/workbook.bin": "xlsb", "word/document.xml": "docx"}


def container(data: bytes) -> str | None:
    """'zip', 'ole' or None, from the first bytes."""
    if data[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        return "zip"
    if data[:8] == OLE_MAGIC:
        return "ole"
    return None


def open_zip(data: bytes, name: str, kind: str) -> zipfile.ZipFile:
    """The package, or IngestError(`<kind>_corrupt`) when the ZIP is damaged (truncated download…)."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        bad = package.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise IngestError(f"{kind}_corrupt", f"{name}: the file is damaged: not a readable ZIP package ({exc}); "
                                             f"download it again") from exc
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise IngestError(f"{kind}_corrupt", f"{name}: the file is damaged ({type(exc).__name__}: {exc}); "
                                             f"download it again") from exc
    if bad is not None:
        raise IngestError(f"{kind}_corrupt", f"{name}: the file is damaged (member {bad} fails its CRC check); "
                                             f"download it again")
    return package


def package_kind(data: bytes) -> str | None:
    """'xlsx', 'xlsb' or 'docx' from the parts of a readable ZIP package; None if none matches or it is damaged."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except Exception:
        return None
    return next((kind for part, kind in PACKAGE_PARTS.items() if part in names), None)


def ole_streams(data: bytes, name: str, kind: str) -> set[str]:
    """Top-level stream names of an OLE2 compound file (lower case)."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:
        raise IngestError(f"{kind}_corrupt", f"{name}: the file is damaged: not a readable Office "
                                             f"compound file ({exc}); download it again") from exc
    try:
        return {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    finally:
        ole.close()


def ole_kind(streams: set[str]) -> str | None:
    """'encrypted' (an OOXML package under a password), 'xls', 'doc' or None."""
    if "encryptedpackage" in streams:
        return "encrypted"
    if streams & {"workbook", "book"}:
        return "xls"
    if "worddocument" in streams:
        return "doc"
    return None


def encrypted_error(name: str, kind: str) -> IngestError:
    what = "Word document" if kind == "docx" else "workbook"
    return IngestError(f"{kind}_encrypted", f"{name}: the {what} is password-protected (encrypted); "
                                            f"it cannot be read without the password — ask for an unprotected copy")
