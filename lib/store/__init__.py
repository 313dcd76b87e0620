"""The database store: engine, migrations, encrypted credentials and OAuth states."""

from lib.store.credentials import (
    ConnectionInfo,
    ConnectionStatus,
    ConnectionSummary,
    CredentialsStore,
    StoredConnection,
)
from lib.store.crypto import (
    DECRYPT_ERROR_MESSAGE,
    CredentialsDecryptError,
    EncryptionKeyError,
    KeyOrigin,
    SecretBox,
    decrypt_error_message,
    encryption_key_path,
    encryption_key_setting_source,
    fernet_key_problem,
    load_secret_box,
)
from lib.store.db import (
    SNAPSHOT_READ,
    UnsupportedDatabaseError,
    create_db_engine,
    dispose_engines,
    get_engine,
    resolve_database_url,
)
from lib.store.migrations import SchemaTooNewError, current_version, latest_version, migrate
from lib.store.oauth_states import (
    OAuthStateStore,
    StateCheck,
    TooManyPendingStates,
    client_ref_for,
)

__all__ = [
    "DECRYPT_ERROR_MESSAGE",
    "SNAPSHOT_READ",
    "ConnectionInfo",
    "ConnectionStatus",
    "ConnectionSummary",
    "CredentialsDecryptError",
    "CredentialsStore",
    "EncryptionKeyError",
    "KeyOrigin",
    "OAuthStateStore",
    "SchemaTooNewError",
    "SecretBox",
    "StateCheck",
    "StoredConnection",
    "TooManyPendingStates",
    "UnsupportedDatabaseError",
    "client_ref_for",
    "create_db_engine",
    "current_version",
    "decrypt_error_message",
    "dispose_engines",
    "encryption_key_path",
    "encryption_key_setting_source",
    "fernet_key_problem",
    "get_engine",
    "latest_version",
    "load_secret_box",
    "migrate",
    "resolve_database_url",
]
