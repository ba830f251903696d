"""SHA-256 checksums of files and bytes: what every rule family records, with nothing to install."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return stream_sha256(handle)


def stream_sha256(handle) -> str:
    """The checksum of what a binary file object reads, a megabyte at a time (a catalogue of ten million
    rows is gigabytes)."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
