"""The server key: encrypts stored secrets, signs pagination tokens and console sessions.

Kept in ``CHARTER_HOME/server.key`` (mode 0600), created on first start.  Access
key secrets are stored only as Fernet ciphertext (AES-128-CBC + HMAC-SHA256)
under this key, so a copy of the database alone reveals no secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


_CACHED_SECRETS = 4096


class Keyring:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)
        self._key = key
        # A separate key for MACs, derived so that one file holds everything.
        self.mac_key = hashlib.sha256(b"charter-token-mac\0" + key).digest()
        # Every signed request needs its key's secret; decrypting it each time costs more
        # than the rest of the lookup.  A ciphertext always decrypts to the same secret.
        self._plain: dict[str, str] = {}

    def derive(self, purpose: str) -> bytes:
        """A 256-bit key of its own for ``purpose`` (``"console-session"``, ...), derived from the server key.

        HMAC-SHA256 keyed with the server key over the purpose's name: keys for
        different purposes are independent, and knowing one reveals neither the
        server key nor another.
        """
        return hmac.new(self._key, b"charter-derived-key\0" + purpose.encode(), hashlib.sha256).digest()

    @classmethod
    def load_or_create(cls, path: Path) -> "Keyring":
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(path.read_bytes().strip())
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return cls(key)

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        found = self._plain.get(ciphertext)
        if found is not None:
            return found
        try:
            plain = self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError(
                "A stored secret cannot be decrypted with CHARTER_HOME/server.key: "
                "the key file was replaced or belongs to another installation."
            ) from exc
        if len(self._plain) >= _CACHED_SECRETS:
            self._plain.clear()
        self._plain[ciphertext] = plain
        return plain
