"""Encryption at rest for stored credentials (Fernet, with MultiFernet for key rotation)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import tempfile
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

import lib.config
from lib.config import Settings

KEY_FILE_NAME = "encryption.key"
ENCRYPTION_KEY_VARIABLE = "APP_ENCRYPTION_KEY"
FERNET_KEY_BYTES = 32
_GENERATE_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def decrypt_error_message(key_source: str) -> str:
    """Why stored credentials cannot be read with the key from `key_source` (never the key)."""
    return (
        "cannot decrypt stored credentials: they were saved with a different encryption key "
        f"than {key_source}"
    )


DECRYPT_ERROR_MESSAGE = decrypt_error_message(ENCRYPTION_KEY_VARIABLE)


class KeyOrigin(StrEnum):
    ENVIRONMENT = "environment"
    SECRETS_FILE = "secrets.toml"
    FILE = "file"
    GENERATED = "generated"


class EncryptionKeyError(ValueError):
    """The configured encryption key is unusable; the message never contains the key."""


class CredentialsDecryptError(Exception):
    """Stored credentials cannot be read with the configured key (or are corrupted)."""


class SecretBox:
    """Encrypts JSON objects to text tokens and back. The first key encrypts; all keys decrypt.

    `source` says in words where the keys were read from, for error messages.
    """

    __slots__ = ("_fernet", "_key_count", "_signing_root", "source")

    def __init__(self, keys: list[bytes], source: str = ENCRYPTION_KEY_VARIABLE) -> None:
        if not keys:
            raise EncryptionKeyError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._key_count = len(keys)
        self._signing_root = base64.urlsafe_b64decode(keys[0])
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(keys={self._key_count})"

    def signing_key(self, purpose: str) -> bytes:
        """A key for signing links made for `purpose` only: HMAC-SHA256 of `purpose` under the
        current (first) key, so the encryption key itself never signs anything and one
        purpose's signatures are worthless for another."""
        return hmac.new(self._signing_root, purpose.encode(), hashlib.sha256).digest()

    def encrypt_json(self, obj: dict[str, Any]) -> str:
        """An opaque token holding `obj` serialised as JSON."""
        plain = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        return self._fernet.encrypt(plain).decode("ascii")

    def decrypt_json(self, token: str) -> dict[str, Any]:
        """The object inside `token`; CredentialsDecryptError when no configured key opens it."""
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise CredentialsDecryptError(decrypt_error_message(self.source)) from None
        obj = json.loads(plain)
        if not isinstance(obj, dict):
            raise CredentialsDecryptError("cannot decrypt stored credentials: they are corrupted")
        return obj


def encryption_key_path(settings: Settings) -> Path:
    """Where the generated key lives when APP_ENCRYPTION_KEY is not set."""
    return settings.app_data_dir.expanduser().resolve() / KEY_FILE_NAME


def load_secret_box(settings: Settings) -> tuple[SecretBox, KeyOrigin]:
    """The SecretBox for APP_ENCRYPTION_KEY (comma-separated keys for rotation, first encrypts),
    else for the key file in the data directory, generated with mode 0600 on first run.

    Raises EncryptionKeyError saying what is wrong and where the key was read from (never the
    key itself), also when the key file cannot be read or created.
    """
    if settings.app_encryption_key is not None:
        origin, source = encryption_key_setting_source()
        raw = settings.app_encryption_key.get_secret_value()
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        return SecretBox(_parse_keys(parts, source), source), origin
    path = encryption_key_path(settings)
    source = f"the key file {path}"
    origin = KeyOrigin.FILE
    try:
        if not path.exists():
            origin = KeyOrigin.GENERATED if _write_new_key(path) else KeyOrigin.FILE
        parts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise EncryptionKeyError(
            f"{source} cannot be read or created ({type(error).__name__}); check that the data "
            "directory is writable, or set APP_ENCRYPTION_KEY"
        ) from None
    return SecretBox(_parse_keys(parts, source), source), origin


def encryption_key_setting_source() -> tuple[KeyOrigin, str]:
    """Where APP_ENCRYPTION_KEY is set, as an origin and in words: the environment wins over
    Streamlit's secrets.toml, as in `lib.config`."""
    for name, value in os.environ.items():
        if name.upper() == ENCRYPTION_KEY_VARIABLE and value.strip():
            return KeyOrigin.ENVIRONMENT, f"{ENCRYPTION_KEY_VARIABLE} (from the environment)"
    for path in reversed(lib.config.secrets_files()):
        if _secrets_file_sets_key(path):
            return KeyOrigin.SECRETS_FILE, f"{ENCRYPTION_KEY_VARIABLE} (from {path})"
    return KeyOrigin.ENVIRONMENT, ENCRYPTION_KEY_VARIABLE


def _secrets_file_sets_key(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return any(key.upper() == ENCRYPTION_KEY_VARIABLE for key in data)


def _parse_keys(parts: list[str], source: str) -> list[bytes]:
    if not parts:
        raise EncryptionKeyError(f"{source} holds no encryption key")
    for position, part in enumerate(parts, start=1):
        problem = fernet_key_problem(part)
        if problem is not None:
            which = f"key {position} of {len(parts)} in " if len(parts) > 1 else ""
            raise EncryptionKeyError(
                f"{which}{source} is not a usable Fernet key: {problem}; {_GENERATE_HINT}"
            ) from None
    return [part.encode("ascii") for part in parts]


def fernet_key_problem(key: str) -> str | None:
    """What makes `key` unusable as a Fernet key, in words that never repeat it; None if usable."""
    try:
        encoded = key.encode("ascii")
    except UnicodeEncodeError:
        return "it contains characters other than url-safe base64 (A-Z, a-z, 0-9, - and _)"
    try:
        decoded = base64.urlsafe_b64decode(encoded)
    except (binascii.Error, ValueError):
        return "it is not url-safe base64 text (wrong length or padding)"
    if len(decoded) != FERNET_KEY_BYTES:
        return f"it decodes to {len(decoded)} bytes where a Fernet key has {FERNET_KEY_BYTES}"
    try:
        Fernet(encoded)
    except ValueError:
        return "Fernet refuses it"
    return None


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
