"""Encrypted credentials: key loading, round trips, nothing secret in clear, wrong keys, status."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from lib.config import get_settings
from lib.providers.masking import mask_secret
from lib.providers.types import ProviderCredentials
from lib.store import (
    DECRYPT_ERROR_MESSAGE,
    ConnectionInfo,
    CredentialsDecryptError,
    CredentialsStore,
    EncryptionKeyError,
    KeyOrigin,
    SecretBox,
    create_db_engine,
    encryption_key_path,
    load_secret_box,
    migrate,
)
from lib.store.tables import user_credentials

SECRET_KEY = "sk_test_51AbCdEfGhIjKlMnOpQrStUv4242"
MASKED_KEY = mask_secret(SECRET_KEY)
REFRESH_TOKEN = "rt_9f8e7d6c5b4a39281706"
ACCOUNT_ID = "acct_1Nv0FGQ9RKHgCVdK"


def _credentials(token: str = SECRET_KEY) -> ProviderCredentials:
    return ProviderCredentials(
        pat=SecretStr(token),
        auth_method="oauth",
        refresh_token=SecretStr(REFRESH_TOKEN),
        account_id=ACCOUNT_ID,
        publishable_key="pk_test_51AbCd",
        scope="read_write",
        livemode=False,
    )


def _info(masked_key: str = MASKED_KEY) -> ConnectionInfo:
    return ConnectionInfo(
        masked_key=masked_key,
        account_id=ACCOUNT_ID,
        account_name="Acme Payments Ltd",
        email="billing@acme.test",
        mode="test",
        auth_method="oauth",
    )


def _box() -> SecretBox:
    return SecretBox([Fernet.generate_key()])


@pytest.fixture
def store(engine: Engine) -> CredentialsStore:
    return CredentialsStore(engine, _box())


# Key loading


def test_first_run_generates_a_private_key_file_and_later_runs_reuse_it(
    isolated_settings: Path,
) -> None:
    settings = get_settings()

    first_box, first_origin = load_secret_box(settings)
    path = encryption_key_path(settings)
    second_box, second_origin = load_secret_box(settings)

    assert (first_origin, second_origin) == (KeyOrigin.GENERATED, KeyOrigin.FILE)
    assert path == isolated_settings.resolve() / "encryption.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first_box.encrypt_json({"pat": SECRET_KEY})
    assert second_box.decrypt_json(token) == {"pat": SECRET_KEY}


def test_key_from_the_environment_wins_and_writes_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("APP_ENCRYPTION_KEY", key)
    get_settings.cache_clear()

    box, origin = load_secret_box(get_settings())

    assert origin is KeyOrigin.ENVIRONMENT
    assert not encryption_key_path(get_settings()).exists()
    token = SecretBox([key.encode()]).encrypt_json({"a": 1})
    assert box.decrypt_json(token) == {"a": 1}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (
            "not-a-fernet-key",
            "APP_ENCRYPTION_KEY (from the environment) is not a usable Fernet key: it decodes "
            "to 12 bytes where a Fernet key has 32",
        ),
        (
            "not-a-fernet-key-but-long-enough-to-look-real",
            "APP_ENCRYPTION_KEY (from the environment) is not a usable Fernet key: it is not "
            "url-safe base64",
        ),
        (
            f"{Fernet.generate_key().decode()},short-secret-value",
            "key 2 of 2 in APP_ENCRYPTION_KEY (from the environment) is not a usable",
        ),
        ("clé-secrète", "it contains characters other than url-safe base64"),
    ],
)
def test_malformed_environment_key_is_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, value: str, named: str
) -> None:
    monkeypatch.setenv("APP_ENCRYPTION_KEY", value)
    get_settings.cache_clear()

    with pytest.raises(EncryptionKeyError) as raised:
        load_secret_box(get_settings())

    message = str(raised.value)
    assert named in message
    assert all(part not in message for part in value.split(","))
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_malformed_key_in_secrets_toml_names_that_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lib.config

    secrets = tmp_path / "secrets.toml"
    secrets.write_text('APP_ENCRYPTION_KEY = "not-a-fernet-key"\n', encoding="utf-8")
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [secrets])
    get_settings.cache_clear()

    with pytest.raises(EncryptionKeyError) as raised:
        load_secret_box(get_settings())

    assert str(raised.value).startswith(
        f"APP_ENCRYPTION_KEY (from {secrets}) is not a usable Fernet key: it decodes to 12 bytes"
    )
    assert "not-a-fernet-key" not in str(raised.value)


def test_an_unreadable_key_file_is_a_key_error_naming_the_file(
    isolated_settings: Path,
) -> None:
    key_file = encryption_key_path(get_settings())
    key_file.mkdir(parents=True)

    with pytest.raises(EncryptionKeyError) as raised:
        load_secret_box(get_settings())

    assert str(raised.value).startswith(f"the key file {key_file} cannot be read or created")


def test_rotation_keeps_old_credentials_readable_and_encrypts_with_the_first_key() -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    saved_long_ago = SecretBox([old_key]).encrypt_json({"pat": SECRET_KEY})

    rotated = SecretBox([new_key, old_key])

    assert rotated.decrypt_json(saved_long_ago) == {"pat": SECRET_KEY}
    assert SecretBox([new_key]).decrypt_json(rotated.encrypt_json({"n": 1})) == {"n": 1}


def test_secret_box_repr_shows_no_key() -> None:
    key = Fernet.generate_key()

    assert key.decode() not in repr(SecretBox([key]))


# Repository


def test_saved_credentials_come_back_decrypted(store: CredentialsStore) -> None:
    store.save("user-1", "stripe", _credentials(), _info())

    found = store.get("user-1", "stripe")

    assert found is not None
    assert found.credentials.token() == SECRET_KEY
    assert found.credentials.refresh_token is not None
    assert found.credentials.refresh_token.get_secret_value() == REFRESH_TOKEN
    assert found.credentials == _credentials()
    assert found.info == _info()
    assert (found.status, found.account_ref) == ("connected", ACCOUNT_ID)
    assert found.created_at.utcoffset() is not None and found.created_at.utcoffset().seconds == 0
    assert store.get("user-1", "github") is None
    assert store.get("user-2", "stripe") is None


def test_saving_again_replaces_the_one_row_and_reconnects(
    engine: Engine, store: CredentialsStore
) -> None:
    first = store.save("user-1", "stripe", _credentials("sk_test_old_0001"), _info())
    store.mark_needs_reconnect("user-1", "stripe", "token revoked")
    time.sleep(0.01)

    second = store.save("user-1", "stripe", _credentials("sk_test_new_0002"), _info())

    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(user_credentials)).scalar()
            == 1
        )
    found = store.get("user-1", "stripe")
    assert found is not None and found.credentials.token() == "sk_test_new_0002"
    assert (found.status, found.status_reason) == ("connected", None)
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_nothing_secret_or_key_like_is_stored_in_clear(
    engine: Engine, store: CredentialsStore
) -> None:
    store.save("user-1", "stripe", _credentials(), _info())

    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM user_credentials")).mappings().one()
    clear_text = " ".join(str(value) for value in row.values())

    # Whole key prefixes: random ciphertext can hold "sk_" by chance, never "sk_test_".
    key_like = (SECRET_KEY, MASKED_KEY, REFRESH_TOKEN, "sk_test_")
    for secret in (*key_like, "Acme Payments", "billing@acme"):
        assert secret not in clear_text
    assert row["account_ref"] == ACCOUNT_ID


def test_sqlite_file_holds_no_sk_prefix(tmp_path: Path, sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    migrate(engine)
    store = CredentialsStore(engine, _box())
    store.save("user-1", "stripe", _credentials(), _info())
    store.save("user-1", "stripe", _credentials("sk_live_51ZzYyXx9999"), _info("sk_live_...9999"))
    engine.dispose()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("test.db*"))

    assert b"acct_" in stored
    # Whole key prefixes: random ciphertext can hold "sk_" by chance, never "sk_live_".
    assert b"sk_test_" not in stored
    assert b"sk_live_" not in stored


def test_wrong_key_gives_a_clear_error_and_listing_still_works(engine: Engine) -> None:
    CredentialsStore(engine, _box()).save("user-1", "stripe", _credentials(), _info())
    other_key_store = CredentialsStore(engine, _box())
    other_key_store.save("user-1", "github", _credentials("ghp_token"), _info("ghp_...oken"))

    with pytest.raises(CredentialsDecryptError) as raised:
        other_key_store.get("user-1", "stripe")
    listed = other_key_store.list_connections("user-1")

    assert str(raised.value) == (
        "cannot decrypt stored credentials: they were saved with a different encryption key "
        "than APP_ENCRYPTION_KEY"
    )
    assert SECRET_KEY not in str(raised.value)
    assert [(item.provider, item.decrypt_error) for item in listed] == [
        ("github", None),
        ("stripe", DECRYPT_ERROR_MESSAGE),
    ]
    assert listed[0].info is not None and listed[0].info.masked_key == "ghp_...oken"
    assert listed[1].info is None
    assert listed[1].account_ref == ACCOUNT_ID


def test_listing_shows_only_that_users_connections(store: CredentialsStore) -> None:
    store.save("user-1", "stripe", _credentials(), _info())
    store.save("user-2", "stripe", _credentials(), _info())
    store.save("user-2", "twilio", _credentials(), ConnectionInfo(account_id="AC77"))

    listed = store.list_connections("user-2")

    assert [(item.provider, item.account_ref, item.status) for item in listed] == [
        ("stripe", ACCOUNT_ID, "connected"),
        ("twilio", "AC77", "connected"),
    ]
    assert listed[0].info == _info()


def test_connections_can_be_flagged_for_reconnect_by_user_or_by_account(
    store: CredentialsStore,
) -> None:
    store.save("user-1", "stripe", _credentials(), _info())
    store.save("user-2", "stripe", _credentials(), _info())
    store.save("user-3", "stripe", _credentials(), ConnectionInfo(account_id="acct_other"))
    pasted = ProviderCredentials(pat=SecretStr(SECRET_KEY), account_id=ACCOUNT_ID)
    store.save("user-4", "stripe", pasted, ConnectionInfo(account_id=ACCOUNT_ID))
    later = datetime.now(UTC) + timedelta(seconds=1)

    assert store.mark_needs_reconnect("user-3", "stripe", "401 from Stripe") is True
    assert store.mark_needs_reconnect("user-3", "github", "nothing there") is False
    flagged = store.mark_oauth_deauthorized(
        "stripe", ACCOUNT_ID, "app deauthorized", deauthorized_at=later
    )

    assert flagged == 2
    users = ("user-1", "user-2", "user-3", "user-4")
    statuses = {user: store.list_connections(user)[0] for user in users}
    assert [(s.status, s.status_reason) for s in statuses.values()] == [
        ("needs_reconnect", "app deauthorized"),
        ("needs_reconnect", "app deauthorized"),
        ("needs_reconnect", "401 from Stripe"),
        ("connected", None),
    ]


def test_a_deauthorization_older_than_the_connection_flags_nothing(
    store: CredentialsStore,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.save("user-1", "stripe", _credentials(), _info())

    flagged = store.mark_oauth_deauthorized(
        "stripe", ACCOUNT_ID, "app deauthorized", deauthorized_at=before
    )

    assert flagged == 0
    assert store.list_connections("user-1")[0].status == "connected"


def test_delete_forgets_the_connection(store: CredentialsStore) -> None:
    store.save("user-1", "stripe", _credentials(), _info())

    assert store.delete("user-1", "stripe") is True
    assert store.delete("user-1", "stripe") is False
    assert store.get("user-1", "stripe") is None
    assert store.list_connections("user-1") == []
