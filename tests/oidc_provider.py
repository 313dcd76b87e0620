"""A real OpenID Connect provider for sign-in tests: `tests/oidc/server.js` (the `oidc-provider`
npm package) on 127.0.0.1, with one confidential client, the users of `tests/oidc/users.json` and
the library's dev-mode login form; and the `[auth]` block that points Streamlit's `st.login` at it.

`.ci/run` installs the package (`npm ci --prefix tests/oidc`); elsewhere `unavailable_reason()`
says what is missing so the tests that need it skip."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from lib.config import PROJECT_ROOT

OIDC_DIR = PROJECT_ROOT / "tests" / "oidc"
USERS_FILE = OIDC_DIR / "users.json"
STARTUP_SECONDS = 30
ADMIN_EMAIL = "admin@example.com"
VIEWER_EMAIL = "viewer@example.com"
OUTSIDER_EMAIL = "outsider@other.example"
UNVERIFIED_EMAIL = "unverified@example.com"


@dataclass(frozen=True)
class OidcUser:
    """An account of the test provider: the claims its ID tokens carry."""

    sub: str
    email: str
    email_verified: bool
    name: str


def load_users() -> dict[str, OidcUser]:
    """The provider's accounts by e-mail, as `server.js` reads them from users.json."""
    entries = json.loads(USERS_FILE.read_text(encoding="utf-8"))
    return {entry["email"]: OidcUser(**entry) for entry in entries}


NO_NODE = "Node.js is not installed (the test OpenID provider runs on Node 20+)"
NOT_INSTALLED = "the test OpenID provider is not installed: run `npm ci --prefix tests/oidc`"


def unavailable_reason() -> str | None:
    """Why the provider cannot run on this machine (NO_NODE or NOT_INSTALLED), else None."""
    if shutil.which("node") is None:
        return NO_NODE
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        return NOT_INSTALLED
    return None


def app_redirect_uri(port: int) -> str:
    """Where the provider sends the browser back to a Streamlit app on `port` (st.login's path)."""
    return f"http://127.0.0.1:{port}/oauth2callback"


class OidcProvider:
    """`node tests/oidc/server.js` on a free loopback port, allowing `redirect_uris` (also as
    post-sign-out URIs), with a client id and a fresh secret, its output in
    `log_dir/oidc-provider-<n>.log`.

    Returns once its discovery document answers; raises AssertionError with the end of the log
    when it does not within STARTUP_SECONDS.
    """

    def __init__(self, redirect_uris: Sequence[str], log_dir: Path) -> None:
        self.client_id = "payments-dashboard"
        self.client_secret = secrets.token_urlsafe(32)
        self.redirect_uris = tuple(redirect_uris)
        self.users = load_users()
        self.log_dir = log_dir
        # A provider that fails to come up on a busy machine gets one more try before the
        # test fails (with the log of the second try).
        try:
            self.issuer = self._start()
        except AssertionError:
            self.issuer = self._start()

    def _start(self) -> str:
        self.log = self.log_dir / f"oidc-provider-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "OIDC_PORT": "0",
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_REDIRECT_URIS": " ".join(self.redirect_uris),
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                ["node", "server.js"],
                cwd=OIDC_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return self._wait_for_issuer()

    @property
    def server_metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def stop(self) -> None:
        """Stop the provider (SIGKILL when it does not exit within 10 s); it forgets everything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _wait_for_issuer(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            issuer = self._announced_issuer()
            if issuer is not None:
                with contextlib.suppress(httpx.TransportError, ValueError):
                    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                    if metadata.json().get("issuer") == issuer:
                        return issuer
            time.sleep(0.05)
        exit_code = self.process.poll()
        self.stop()
        log = self.log.read_text(errors="replace")
        how = f"exited with code {exit_code}" if exit_code is not None else "gave no issuer in time"
        raise AssertionError(f"the test OpenID provider did not start ({how}):\n{log[-3000:]}")

    def _announced_issuer(self) -> str | None:
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith('{"issuer"'):
                return str(json.loads(line)["issuer"])
        return None


def id_token_claims(provider: OidcProvider, email: str, redirect_uri: str) -> dict[str, Any]:
    """Sign in as the user with `email` through `provider`'s authorization endpoint and dev-mode
    login form over plain HTTP (no browser, no app), exchange the code as `st.login` does, and
    return the claims of the ID token issued. The signature is not checked here: Authlib checks
    it under `st.login` in the browser tests."""
    with httpx.Client(base_url=provider.issuer, timeout=10) as client:
        query = {
            "client_id": provider.client_id,
            "response_type": "code",
            "scope": "openid email profile",
            "prompt": "select_account",
            "redirect_uri": redirect_uri,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
        }
        form = _redirected(client.get("/auth", params=query))
        login = {"prompt": "login", "login": provider.users[email].sub, "password": "any"}
        resume = _redirected(client.post(form, data=login))
        back = _redirected(client.get(resume))
        code = parse_qs(urlsplit(back).query)["code"][0]
        token = client.post(
            "/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(provider.client_id, provider.client_secret),
        )
        token.raise_for_status()
    payload = token.json()["id_token"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _redirected(response: httpx.Response) -> str:
    """The absolute URL `response` redirects to; AssertionError with its body when it does not."""
    if not response.is_redirect:
        raise AssertionError(f"expected a redirect, got {response.status_code}: {response.text}")
    return urljoin(str(response.url), response.headers["location"])


def auth_secrets_toml(
    provider: OidcProvider, redirect_uri: str, *, cookie_secret: str | None = None
) -> str:
    """The `[auth]` block of secrets.toml that points `st.login()` at `provider`, with the keys
    Streamlit 1.67 requires (`redirect_uri`, `cookie_secret`, `client_id`, `client_secret`,
    `server_metadata_url`); a fresh random cookie secret unless one is given."""
    values = {
        "redirect_uri": redirect_uri,
        "cookie_secret": cookie_secret or secrets.token_hex(32),
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "server_metadata_url": provider.server_metadata_url,
    }
    # A JSON string is a valid TOML basic string for these ASCII values.
    lines = ["[auth]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def write_streamlit_secrets(app_folder: Path, provider: OidcProvider, redirect_uri: str) -> Path:
    """Write `app_folder/.streamlit/secrets.toml` holding the `[auth]` block for `provider`;
    returns its path. Pass it to `streamlit run` as `--secrets.files <path>` so no other
    secrets.toml is read (the product's app.py then reads its settings from it too); the tests
    give the product's own settings (`ADMIN_EMAILS`, ...) in the app's environment."""
    path = app_folder / ".streamlit" / "secrets.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(auth_secrets_toml(provider, redirect_uri), encoding="utf-8")
    return path
