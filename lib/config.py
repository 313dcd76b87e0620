"""Application settings, read in one place: environment first, then Streamlit's secrets.toml.

Streamlit Community Cloud exposes secrets through `.streamlit/secrets.toml`; a server deploy
usually sets environment variables. Both are read here without importing Streamlit, so the
same settings apply under `streamlit run`, `uvicorn app:app`, the CLI and the tests.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STRIPE_API_VERSION = "2024-06-20"
MAX_LOCALE_LENGTH = 32
_LOCALE_NAME = re.compile(r"[A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8}){0,3}")


SecretsFilesOption = Callable[[], Iterable[str]]
_streamlit_secrets_files: SecretsFilesOption | None = None


def follow_streamlit_secrets_files(option: SecretsFilesOption) -> None:
    """From now on read secrets.toml from the files `option()` names: app.py passes Streamlit's
    `secrets.files` option, so the settings (and the `[auth]` table the start route checks) come
    from the same files as `st.login`, including `--secrets.files` and the working directory's
    `.streamlit/secrets.toml`. Entries that are not files (Kubernetes secret folders) are
    skipped."""
    global _streamlit_secrets_files
    before = secrets_files()
    _streamlit_secrets_files = option
    # app.py calls this on every rerun: only a change of files may cost a re-read.
    if secrets_files() != before:
        get_settings.cache_clear()


def secrets_files() -> list[Path]:
    """Where secrets.toml is read, lowest priority first: where Streamlit reads it once app.py
    has said so, else `~/.streamlit/` and the project's `.streamlit/` (the CLI)."""
    if _streamlit_secrets_files is not None:
        return [Path(entry) for entry in _streamlit_secrets_files()]
    return [
        Path.home() / ".streamlit" / "secrets.toml",
        PROJECT_ROOT / ".streamlit" / "secrets.toml",
    ]


def _read_secrets_files() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in secrets_files():
        if path.is_file():
            stat = path.stat()
            values.update(_parsed_toml(path, stat.st_mtime_ns, stat.st_size))
    return values


@lru_cache(maxsize=16)
def _parsed_toml(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    # Pages ask for the [auth] table several times a run: parse a file again only when it changed.
    with path.open("rb") as handle:
        return tomllib.load(handle)


def read_auth_section() -> dict[str, Any] | None:
    """The `[auth]` table of secrets.toml (Streamlit's `st.login` settings), or None when there
    is none. Streamlit reads sign-in settings from secrets.toml only, never the environment."""
    section = {key.lower(): value for key, value in _read_secrets_files().items()}.get("auth")
    return section if isinstance(section, dict) else None


class StreamlitSecretsSource(PydanticBaseSettingsSource):
    """Top-level keys of Streamlit's secrets.toml files, matched case-insensitively."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._values = {key.lower(): value for key, value in _read_secrets_files().items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name.lower()), field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            value = self._values.get(name.lower())
            if value is not None:
                found[name] = value
        return found


def known_locale(value: object) -> str:
    """`value` as a CLDR locale name babel knows ("de-DE" -> "de_DE"); raises ValueError
    otherwise, so a typo in APP_LOCALE stops the app at start instead of writing English."""
    text = value.strip() if isinstance(value, str) else ""
    name = text.replace("-", "_")
    unknown = ValueError(
        f"{str(value)[:MAX_LOCALE_LENGTH]!r} is not a locale this app knows "
        "(for example en_US or de_DE)"
    )
    if len(name) > MAX_LOCALE_LENGTH or not _LOCALE_NAME.fullmatch(name):
        raise unknown
    try:
        return str(Locale.parse(name))
    except (UnknownLocaleError, ValueError):
        raise unknown from None


# Comma-separated in the environment; a TOML list works too in secrets.toml.
AddressList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Every setting the app reads. Environment variable names are the field names upper-cased."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    stripe_secret_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com/v1"
    stripe_client_id: str | None = None
    stripe_connect_base: str = "https://connect.stripe.com"
    stripe_webhook_secret: SecretStr | None = None
    app_url: str | None = None
    """The app's public URL; unset, pages use the address in the browser (lib.app_address)."""
    app_data_dir: Path = PROJECT_ROOT / ".data"
    widgets_dir: Path = PROJECT_ROOT / "widgets"
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    jira_base_url: str | None = None
    """Overrides the Jira site of the stored connection (tests and staging point it elsewhere)."""
    jira_project_key: str | None = None
    slack_api_base: str = "https://slack.com/api"
    slack_sales_channel: str = "#sales"
    twilio_api_base: str = "https://api.twilio.com"
    twilio_from: str | None = None
    workflow_portal_return_url: str | None = None
    """Where a failed-payment SMS points when the charge has no invoice page."""
    database_url: SecretStr | None = None
    app_encryption_key: SecretStr | None = None
    events_poll_interval_seconds: float = 60.0
    events_poll_enabled: bool | None = None
    webhook_body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_bodies_in_flight_mb: int = Field(default=16, ge=2, le=4096)
    webhook_events_retention_days: int = Field(default=90, ge=1, le=36500)
    sync_concurrency: int = Field(default=8, ge=1, le=32)
    """List requests a first sync has in flight at once (fewer after Stripe answers 429)."""
    allowed_email_domains: AddressList = ()
    allowed_emails: AddressList = ()
    admin_emails: AddressList = ()
    allow_remote_admin: bool = False
    app_locale: str = "en_US"
    """How money, numbers and typed amounts are written (a CLDR locale such as de_DE)."""

    @field_validator(
        "stripe_secret_key",
        "stripe_webhook_secret",
        "app_encryption_key",
        "database_url",
        "app_url",
        "jira_base_url",
        "jira_project_key",
        "twilio_from",
        "workflow_portal_return_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("app_locale", mode="before")
    @classmethod
    def _known_locale(cls, value: Any) -> Any:
        return known_locale(value)

    @field_validator("allowed_email_domains", "allowed_emails", "admin_emails", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        # Addresses compare lower-case; a domain may be written with its leading "@".
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value
        parts = (str(part).strip().lower() for part in value)
        return tuple(part.removeprefix("@") for part in parts if part)

    @property
    def webhook_secrets(self) -> list[str]:
        """All configured webhook signing secrets (comma-separated, for rotation)."""
        if self.stripe_webhook_secret is None:
            return []
        raw = self.stripe_webhook_secret.get_secret_value()
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def polling_enabled(self) -> bool:
        """Poll the Events API unless webhooks are configured, or when asked explicitly."""
        if self.events_poll_enabled is not None:
            return self.events_poll_enabled
        return not self.webhook_secrets

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, StreamlitSecretsSource(settings_cls))


SETTING_VARIABLES: tuple[str, ...] = tuple(name.upper() for name in Settings.model_fields)
"""Every environment variable the settings are read from."""


def settings_or_exit() -> Settings:
    """The settings; when one is invalid, one plain line per problem on stderr naming the
    setting (never echoing its value, which may be a secret) and exit status 2, not a
    traceback."""
    try:
        return get_settings()
    except ValidationError as error:
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            reason = str(problem["msg"]).removeprefix("Value error, ")
            sys.stderr.write(f"Invalid setting {name}: {reason}\n")
        raise SystemExit(2) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
