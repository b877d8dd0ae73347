"""Files for the operator: activation letters, yearly statements, deletion certificates.

Each is written durably under ``<data_dir>/letters/`` (0600 files, 0700 folders) by a name that
says what it is for — the same name each time for the same letter, so a job run again after a
crash rewrites a letter rather than sending a second one. Names carry the register's random id,
never an INS or a name (they travel in listings and backups).
"""

from __future__ import annotations

from pathlib import Path

from carnet.blobs.local import make_folders_durably, write_file_durably
from carnet.settings import Settings


def letters_folder(settings: Settings, *parts: str) -> Path:
    return settings.data_dir.joinpath("letters", *parts)


def write_letter(settings: Settings, folder: tuple[str, ...], name: str, text: str) -> Path:
    """Write one letter (UTF-8) durably; its path."""
    target = letters_folder(settings, *folder)
    make_folders_durably(target, 0o700)
    path = target / name
    write_file_durably(path, text.encode("utf-8"))
    return path
