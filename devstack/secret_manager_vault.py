"""An encrypted JSON file for the local Secret Manager server's state.

The local stack keeps real-looking provider keys between runs, so they are never written in clear: the document is
encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key kept in a sibling file
(``<store>.key``) created with mode 0600. Writes go to a temporary file that replaces the store atomically, so a
crash never leaves half a store behind.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)


class VaultError(Exception):
    """The store exists but cannot be read with its key (wrong or missing key, or a corrupted file)."""


class EncryptedJsonFile:
    """A JSON document stored encrypted at ``path``; the key lives at ``path`` + ``.key``.

    Args:
        path: The store file. Its directory is created if needed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.key_path = path.with_name(path.name + ".key")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fernet = Fernet(self._load_or_create_key())

    def load(self) -> dict[str, Any] | None:
        """The stored document, or ``None`` if nothing was stored yet."""
        if not self.path.exists():
            return None
        try:
            document: dict[str, Any] = json.loads(self._fernet.decrypt(self.path.read_bytes()))
        except InvalidToken as e:
            raise VaultError(f"{self.path} cannot be decrypted with {self.key_path}") from e
        return document

    def save(self, document: dict[str, Any]) -> None:
        """Encrypt and write ``document``, replacing the previous one atomically."""
        token = self._fernet.encrypt(json.dumps(document, separators=(",", ":")).encode())
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(token)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def _load_or_create_key(self) -> bytes:
        if self.key_path.exists():
            mode = stat.S_IMODE(self.key_path.stat().st_mode)
            if mode & 0o077:
                log.warning("key file is readable by other users", extra={"path": str(self.key_path)})
            return self.key_path.read_bytes().strip()
        if self.path.exists():
            raise VaultError(f"{self.path} exists but its key {self.key_path} is missing")
        key = Fernet.generate_key()
        # O_EXCL: never overwrite a key another process just created; 0600 from the start, not chmod'ed later.
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        log.info("created a new store key", extra={"path": str(self.key_path)})
        return key
