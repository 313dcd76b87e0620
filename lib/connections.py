"""A user's provider connections: connect (by key or Stripe Connect OAuth) saving only what the
provider accepts, test, flag for reconnection, and disconnect. No Streamlit here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from pydantic import SecretStr
from sqlalchemy.engine import Connection, Engine

from lib.accounts import connection_key_prefix, is_connection_key_of
from lib.config import Settings
from lib.oauth.stripe_connect import (
    NOT_CONFIGURED,
    OAuthCallback,
    StripeConnectError,
    check_state,
    connect_config,
    deauthorize,
    error_message,
    exchange_code,
)
from lib.providers import (
    ApiError,
    ConnectionTestResult,
    ErrorCode,
    ProviderAdapter,
    ProviderCredentials,
    ProviderName,
    StripeAdapter,
    get_adapter,
    mask_secret,
    provider_label,
)
from lib.store import (
    ConnectionInfo,
    CredentialsDecryptError,
    CredentialsStore,
    OAuthStateStore,
    StoredConnection,
)
from lib.sync import sync_jobs
from lib.sync.forget import (
    LocalCopy,
    count_local_copy,
    delete_local_copy,
    stored_account_keys,
    unattributed_events_about,
)

FieldName = Literal["pat", "account_id", "email", "site"]
# Errors meaning the stored credentials will not work again until the user reconnects.
RECONNECT_CODES = frozenset({ErrorCode.UNAUTHORIZED, ErrorCode.INVALID_CREDENTIALS})
SYNC_STOP_SECONDS = 10.0
# A Stripe secret or restricted key is its prefix and then 24 to 247 letters and digits (keys
# are at most 255 characters): anything shorter is a partly copied key.
STRIPE_KEY_FORMAT = re.compile(r"(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{24,247}")
# A newly pasted key that the provider rejects: there is nothing to reconnect, only a key to
# check.
_NEW_KEY_REJECTED = MappingProxyType(
    {
        "stripe": "Stripe rejected the API key. Check the key: copy it again from the Stripe "
        "Dashboard (Developers → API keys); a rolled or revoked key no longer works."
    }
)


@dataclass(frozen=True)
class CredentialField:
    """One input of the paste-a-key form; `name` is the ProviderCredentials field it fills."""

    name: FieldName
    label: str
    secret: bool = False
    placeholder: str = ""


_TOKEN = "pat"
KEY_FIELDS: Mapping[ProviderName, tuple[CredentialField, ...]] = MappingProxyType(
    {
        "stripe": (
            CredentialField(_TOKEN, "Secret or restricted key", True, "sk_test_… or rk_live_…"),
        ),
        "github": (CredentialField(_TOKEN, "Personal access token", True, "github_pat_…"),),
        "jira": (
            CredentialField("site", "Jira site", placeholder="acme.atlassian.net"),
            CredentialField("email", "Email you sign in with", placeholder="you@example.com"),
            CredentialField(_TOKEN, "API token", True),
        ),
        "linear": (CredentialField(_TOKEN, "API key", True, "lin_api_…"),),
        "slack": (CredentialField(_TOKEN, "Bot or user token", True, "xoxb-… or xoxp-…"),),
        "twilio": (
            CredentialField("account_id", "Account SID", placeholder="AC…"),
            CredentialField(_TOKEN, "Auth token", True),
        ),
    }
)


@dataclass(frozen=True)
class ConnectionOutcome:
    """What connecting or testing did, with a message in plain words for the page."""

    ok: bool
    message: str
    connection: StoredConnection | None = None


@dataclass(frozen=True)
class DisconnectOutcome:
    """Whether the connection was removed; `can_remove_anyway` when only a confirmation is
    missing (the provider could not be told)."""

    removed: bool
    message: str
    can_remove_anyway: bool = False


def key_fields(provider: ProviderName) -> tuple[CredentialField, ...]:
    """The inputs needed to connect `provider` by pasting credentials; empty when it can only be
    connected through its own sign-in (Google Calendar)."""
    return KEY_FIELDS.get(provider, ())


def credentials_from_fields(values: Mapping[str, str]) -> ProviderCredentials:
    """API-key credentials from form inputs (`pat`, `account_id`, `email`, `site`), trimmed;
    blank inputs are left unset."""
    cleaned = {name: value.strip() for name, value in values.items() if value and value.strip()}
    token = cleaned.get(_TOKEN)
    return ProviderCredentials(
        pat=SecretStr(token) if token else None,
        account_id=cleaned.get("account_id"),
        email=cleaned.get("email"),
        site=cleaned.get("site"),
    )


def adapter_for(provider: ProviderName, settings: Settings) -> ProviderAdapter:
    """A new adapter for `provider`; Stripe's talks to `settings.stripe_api_base`."""
    if provider == "stripe":
        return get_adapter(provider, base_url=settings.stripe_api_base)
    return get_adapter(provider)


def describe(info: ConnectionInfo) -> str:
    """A connection in a few words: name, account id and mode, as far as they are known."""
    extras = [part for part in (info.account_id, info.mode and f"{info.mode} mode") if part]
    name = info.account_name or info.email
    if name and extras:
        return f"{name} ({', '.join(extras)})"
    return name or ", ".join(extras) or "account"


def connect_with_key(
    store: CredentialsStore,
    user_id: str,
    provider: ProviderName,
    credentials: ProviderCredentials,
    adapter: ProviderAdapter,
    *,
    connected_by: str | None = None,
) -> ConnectionOutcome:
    """Check the format, ask the provider who the credentials belong to, and save them
    (encrypted, replacing any earlier connection, with `connected_by`) only when the provider
    accepts them.

    Malformed credentials (a Stripe `pk_` key, a partly copied key, a missing field) are
    refused without a request. A key the provider rejects is never saved; the message asks to
    check the key (there is no earlier connection to "reconnect").
    """
    label = provider_label(provider)
    missing = [field.label for field in key_fields(provider) if not _value(credentials, field)]
    if missing:
        named = ", ".join(f"“{name}”" for name in missing)
        return ConnectionOutcome(False, f"Fill in {named} to connect {label}.")
    problem = adapter.validate_credentials(credentials) or _pasted_key_problem(
        provider, credentials.token()
    )
    if problem:
        return ConnectionOutcome(False, f"Not saved. {problem}")
    result = adapter.test_connection(credentials)
    if not result.success:
        return ConnectionOutcome(False, f"Not saved. {_new_key_failure(result.error, provider)}")
    info = _connection_info(credentials, result, connected_by=connected_by)
    stored = store.save(user_id, provider, credentials, info)
    return ConnectionOutcome(True, f"Connected {label}: {describe(info)}.", stored)


def connect_with_stripe_oauth(
    store: CredentialsStore,
    states: OAuthStateStore,
    user_id: str,
    settings: Settings,
    callback: OAuthCallback,
    cookie_state: str | None,
    adapter: StripeAdapter,
    *,
    state_owner: str | None = None,
    connected_by: str | None = None,
) -> ConnectionOutcome:
    """Finish Stripe Connect OAuth from the page's query parameters.

    The `state` must equal the browser's cookie, have been issued for `state_owner` (the
    signed-in admin; None without sign-in) and be consumed now (single use, 10 minutes); then
    the code is exchanged and the tokens are saved encrypted with `account_ref` =
    `stripe_user_id` and `connected_by`. Any refusal or error saves nothing and says why in
    plain words.
    """
    config = connect_config(settings)
    if config is None:
        setup = "set STRIPE_CLIENT_ID and STRIPE_SECRET_KEY"
        return ConnectionOutcome(False, f"{NOT_CONFIGURED}: {setup}. Nothing was saved.")
    problem = check_state(states, callback.state, cookie_state, state_owner)
    if problem:
        return ConnectionOutcome(False, problem)
    if callback.error:
        return ConnectionOutcome(False, error_message(callback.error, callback.error_description))
    if not callback.code:
        return ConnectionOutcome(False, "Stripe's answer carries no authorization code. Try again.")
    try:
        credentials = exchange_code(config, callback.code)
    except StripeConnectError as error:
        return ConnectionOutcome(False, str(error))
    # The tokens are fresh from Stripe: the account name is a nicety, not a condition to save.
    learned = adapter.test_connection(credentials)
    if not learned.success:
        learned = ConnectionTestResult(success=False, mode=adapter.mode(credentials))
    info = _connection_info(credentials, learned, connected_by=connected_by)
    stored = store.save(user_id, "stripe", credentials, info)
    return ConnectionOutcome(True, f"Connected Stripe account {describe(info)}.", stored)


def check_stored_connection(
    store: CredentialsStore, user_id: str, provider: ProviderName, adapter: ProviderAdapter
) -> ConnectionOutcome:
    """Try the stored credentials against the provider. Success marks the connection connected
    (refreshing the account details); a rejection marks it as needing reconnection; a transient
    failure (network, rate limit) changes nothing."""
    label = provider_label(provider)
    try:
        stored = store.get(user_id, provider)
    except CredentialsDecryptError as error:
        return ConnectionOutcome(False, str(error))
    if stored is None:
        return ConnectionOutcome(False, f"{label} is not connected.")
    result = adapter.test_connection(stored.credentials)
    if result.success:
        info = _connection_info(stored.credentials, result, previous=stored.info)
        saved = store.save(user_id, provider, stored.credentials, info)
        return ConnectionOutcome(True, f"The {label} connection works: {describe(info)}.", saved)
    words = _failure_words(result.error, label)
    if result.error is not None and record_api_failure(store, user_id, provider, result.error):
        return ConnectionOutcome(False, f"{words} The connection needs to be reconnected.")
    return ConnectionOutcome(False, words)


def record_api_failure(
    store: CredentialsStore, user_id: str, provider: ProviderName, error: ApiError
) -> bool:
    """Mark the user's connection as needing reconnection when `error` means the provider
    rejects the stored credentials (401, invalid); True when it was marked."""
    if error.code not in RECONNECT_CODES:
        return False
    return store.mark_needs_reconnect(user_id, provider, error.message)


def disconnect(
    store: CredentialsStore,
    user_id: str,
    provider: ProviderName,
    settings: Settings,
    *,
    force: bool = False,
    keep_data: bool = False,
) -> DisconnectOutcome:
    """Forget the user's connection. A Stripe Connect (OAuth) connection is first deauthorized
    at Stripe; when that fails the row is kept and `can_remove_anyway` is set, and only
    `force=True` then removes it. A connection that cannot be decrypted is simply removed.

    Unless `keep_data`, a Stripe connection takes this app's copy of its account with it (see
    `local_copy_of`), in the transaction that deletes the credentials.
    """
    label = provider_label(provider)
    try:
        stored = store.get(user_id, provider)
    except CredentialsDecryptError:
        stored = None
    if stored is not None and not force and stored.credentials.auth_method == "oauth":
        problem = _revoke_stripe_access(stored, settings) if provider == "stripe" else None
        if problem:
            return DisconnectOutcome(False, problem, can_remove_anyway=True)
    erase = provider == "stripe" and not keep_data
    account_ref = _account_ref(store, user_id, provider) if erase else None
    keys = _stop_syncs(store.engine, user_id) if erase else set()
    event_ids = unattributed_events_about(store.engine, keys) if keys else []
    erased: LocalCopy | None = None
    with store.engine.begin() as connection:
        removed = store.delete(user_id, provider, connection=connection)
        if removed and erase:
            # Another user's connection to the same account still reads its events.
            shared = account_ref is not None and store.others_connected_to(
                provider, account_ref, user_id, connection=connection
            )
            erased = delete_local_copy(
                connection,
                keys | _copy_keys(connection, user_id),
                event_ids=event_ids,
                account_ref=None if shared else account_ref,
            )
    if not removed:
        return DisconnectOutcome(False, f"{label} was not connected.")
    deleted = f"Disconnected {label}; its credentials were deleted"
    if erased is not None and erased.empty:
        return DisconnectOutcome(True, f"{deleted}; this app held no copy of its data.")
    if erased is not None:
        return DisconnectOutcome(
            True, f"{deleted}, and so was this app's copy of its data: {erased.describe()}."
        )
    if provider == "stripe":
        return DisconnectOutcome(True, f"{deleted}. This app's copy of its data was kept.")
    return DisconnectOutcome(True, f"{deleted}.")


def local_copy_of(store: CredentialsStore, user_id: str) -> LocalCopy:
    """What disconnecting Stripe would delete besides the credentials: the customers, charges,
    refunds and subscriptions this app copied through the user's connections (stored events
    about them go too, but are not counted here)."""
    with store.engine.connect() as connection:
        return count_local_copy(connection, _copy_keys(connection, user_id))


def _copy_keys(connection: Connection, user_id: str) -> set[str]:
    candidates = stored_account_keys(connection, connection_key_prefix(user_id))
    return {key for key in candidates if is_connection_key_of(key, user_id)}


def _stop_syncs(engine: Engine, user_id: str) -> set[str]:
    """Cancel the user's running syncs (a sync would write the copy again) and wait for them;
    returns the keys of the user's copies."""
    with engine.connect() as connection:
        keys = _copy_keys(connection, user_id)
    jobs = [job for key in keys if (job := sync_jobs.get(key)) is not None and job.running]
    for job in jobs:
        job.cancel()
    for job in jobs:
        job.wait(SYNC_STOP_SECONDS)
    return keys


def _account_ref(store: CredentialsStore, user_id: str, provider: ProviderName) -> str | None:
    # The stored row names its account in clear, so this works without the encryption key.
    found = [item for item in store.list_connections(user_id) if item.provider == provider]
    return found[0].account_ref if found else None


def _revoke_stripe_access(stored: StoredConnection, settings: Settings) -> str | None:
    keep = (
        "The connection is kept. “Remove anyway” forgets it here only: this app keeps access to "
        "the Stripe account until it is removed in that account's Stripe Dashboard."
    )
    config = connect_config(settings)
    if config is None:
        return f"{NOT_CONFIGURED}, so this app cannot revoke its access at Stripe. {keep}"
    account = stored.credentials.account_id or stored.account_ref
    if not account:
        return f"The stored connection does not name its Stripe account. {keep}"
    try:
        deauthorize(config, account)
    except StripeConnectError as error:
        return f"{error} {keep}"
    return None


def _value(credentials: ProviderCredentials, field: CredentialField) -> str:
    if field.name == _TOKEN:
        return credentials.token()
    return getattr(credentials, field.name) or ""


def _pasted_key_problem(provider: ProviderName, token: str) -> str | None:
    if provider != "stripe" or STRIPE_KEY_FORMAT.fullmatch(token):
        return None
    prefix = token[:8]  # the adapter has checked that it is sk_test_, rk_live_ or the like
    return (
        f"That is not a complete Stripe key: a key is “{prefix}” followed by 24 to 247 letters "
        "and digits. Copy the whole key from the Stripe Dashboard (Developers → API keys)."
    )


def _new_key_failure(error: ApiError | None, provider: ProviderName) -> str:
    label = provider_label(provider)
    if error is None or error.code not in RECONNECT_CODES:
        return _failure_words(error, label)
    return _NEW_KEY_REJECTED.get(
        provider, f"{label} rejected these credentials. Check them in {label} and try again."
    )


def _failure_words(error: ApiError | None, label: str) -> str:
    return error.message if error is not None else f"{label} could not be reached."


def _connection_info(
    credentials: ProviderCredentials,
    result: ConnectionTestResult,
    previous: ConnectionInfo | None = None,
    connected_by: str | None = None,
) -> ConnectionInfo:
    # A restricted key may not read its account: keep what an earlier test learned.
    earlier = previous or ConnectionInfo()
    return ConnectionInfo(
        masked_key=mask_secret(credentials.token()),
        account_id=result.account_id or credentials.account_id or earlier.account_id,
        account_name=result.account_name or earlier.account_name,
        email=result.email or earlier.email,
        mode=result.mode or earlier.mode,
        auth_method=credentials.auth_method,
        connected_by=connected_by or earlier.connected_by,
    )
