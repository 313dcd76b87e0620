"""Encryption at rest for stored credentials (Fernet, with MultiFernet for key rotation)."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from lib.config import Settings

KEY_FILE_NAME = "encryption.key"
ENCRYPTION_KEY_VARIABLE = "APP_ENCRYPTION_KEY"
DECRYPT_ERROR_MESSAGE = (
    "cannot decrypt stored credentials: they were saved with a different encryption key "
    f"({ENCRYPTION_KEY_VARIABLE})"
)


class KeyOrigin(StrEnum):
    ENVIRONMENT = "environment"
    FILE = "file"
    GENERATED = "generated"


class EncryptionKeyError(ValueError):
    """The configured encryption key is unusable; the message never contains the key."""


class CredentialsDecryptError(Exception):
    """Stored credentials cannot be read with the configured key (or are corrupted)."""


class SecretBox:
    """Encrypts JSON objects to text tokens and back. The first key encrypts; all keys decrypt."""

    __slots__ = ("_fernet", "_key_count")

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise EncryptionKeyError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._key_count = len(keys)

    def __repr__(self) -> str:
        return f"SecretBox(keys={self._key_count})"

    def encrypt_json(self, obj: dict[str, Any]) -> str:
        """An opaque token holding `obj` serialised as JSON."""
        plain = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        return self._fernet.encrypt(plain).decode("ascii")

    def decrypt_json(self, token: str) -> dict[str, Any]:
        """The object inside `token`; CredentialsDecryptError when no configured key opens it."""
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise CredentialsDecryptError(DECRYPT_ERROR_MESSAGE) from None
        obj = json.loads(plain)
        if not isinstance(obj, dict):
            raise CredentialsDecryptError("cannot decrypt stored credentials: they are corrupted")
        return obj


def encryption_key_path(settings: Settings) -> Path:
    """Where the generated key lives when APP_ENCRYPTION_KEY is not set."""
    return settings.app_data_dir.expanduser().resolve() / KEY_FILE_NAME


def load_secret_box(settings: Settings) -> tuple[SecretBox, KeyOrigin]:
    """The SecretBox for APP_ENCRYPTION_KEY (comma-separated keys for rotation, first encrypts),
    else for the key file in the data directory, generated with mode 0600 on first run."""
    if settings.app_encryption_key is not None:
        raw = settings.app_encryption_key.get_secret_value()
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        return SecretBox(_parse_keys(parts, ENCRYPTION_KEY_VARIABLE)), KeyOrigin.ENVIRONMENT
    path = encryption_key_path(settings)
    origin = KeyOrigin.FILE
    if not path.exists():
        origin = KeyOrigin.GENERATED if _write_new_key(path) else KeyOrigin.FILE
    parts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return SecretBox(_parse_keys(parts, str(path))), origin


def _parse_keys(parts: list[str], source: str) -> list[bytes]:
    if not parts:
        raise EncryptionKeyError(f"{source} holds no encryption key")
    for position, part in enumerate(parts, start=1):
        try:
            Fernet(part.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            which = f"key {position} of {len(parts)} in " if len(parts) > 1 else ""
            raise EncryptionKeyError(
                f"{which}{source} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                'generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None
    return [part.encode("ascii") for part in parts]


def _write_new_key(path: Path) -> bool:
    """Create the key file readable by its owner only; False when another process won the race."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=".encryption-key-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() refuses to replace an existing file, so a concurrent first run keeps one key.
        os.link(staging, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(staging)
    return True
