"""Local stand-in for the Cognito JWT authorizer of the HTTP API.

In AWS, API Gateway verifies the caller's Cognito JWT and hands the claims to
the function at ``requestContext.authorizer.jwt.claims``. Locally there is no
Cognito: ``leadflow token`` issues HS256 tokens signed with a per-checkout dev
secret, and the local gateway verifies them the way API Gateway would (issuer,
audience, expiry, signature) and places the claims in the same spot, as
strings, exactly as API Gateway does.

The secret is shared between ``leadflow token`` and a running ``leadflow dev``
through ``<repo root>/.leadflow/dev-secret`` (created on first use);
``LEADFLOW_DEV_SECRET`` overrides it. Keep this module light: ``leadflow token``
imports it and should not pay for boto3 or moto.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

ROLES = ("marketing", "sales_rep", "sales_manager", "finance", "admin")
ISSUER = "leadflow-local"
AUDIENCE = "leadflow"
# The role is the user's Cognito group (only administrators change groups); a list claim,
# which API Gateway hands to Lambda as "[sales_rep]".
GROUPS_CLAIM = "cognito:groups"
ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 30 * 24 * 3600  # long-lived: a dev token should survive a working month
SECRET_ENV = "LEADFLOW_DEV_SECRET"
SECRET_RELATIVE_PATH = Path(".leadflow") / "dev-secret"
_ROOT_MARKERS = ("template.yaml", ".git")


class Unauthorized(Exception):
    """The request carries no valid token (API Gateway answers 401)."""


def repo_root(start: Path | None = None) -> Path:
    """The checkout the current working directory belongs to; else the checkout this code runs
    from (so `leadflow token` from another directory still matches `make dev`); else the cwd."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    installed = Path(__file__).resolve().parents[1]
    if start is None and (installed / "template.yaml").exists():
        return installed
    return here


def secret_path(root: Path | None = None) -> Path:
    return repo_root(root) / SECRET_RELATIVE_PATH


def dev_secret(root: Path | None = None) -> str:
    """The signing secret: $LEADFLOW_DEV_SECRET, else .leadflow/dev-secret (created on first use)."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env
    path = secret_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# local dev state of `leadflow dev` / `leadflow token`\n*\n")
    try:
        # O_EXCL: two processes racing to create it agree on the winner's secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    for _ in range(50):  # the creator may not have written yet
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty; delete it to get a new dev secret")


def issue_token(
    role: str,
    user: str | None = None,
    *,
    secret: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A token like the ones the Cognito user pool would issue, for the local authorizer."""
    import jwt

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": user or f"{role}-1",
        GROUPS_CLAIM: [role],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + int(ttl_seconds),
        "token_use": "id",
    }
    claims.update(extra_claims or {})
    return jwt.encode(claims, secret or dev_secret(), algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str) -> dict[str, Any]:
    """Claims of a valid token; raises Unauthorized for anything API Gateway would refuse."""
    import jwt

    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(str(exc)) from exc


def bearer_token(authorization: str | None) -> str:
    """The token in an Authorization header. API Gateway accepts it with or without 'Bearer '."""
    parts = (authorization or "").split(None, 1)
    if parts and parts[0].lower() == "bearer":
        parts = parts[1:]
    value = parts[0].strip() if parts else ""
    if not value:
        raise Unauthorized("missing token")
    return value


def api_gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway HTTP APIs hand them to Lambda: every value a string,
    numbers as decimal text, arrays as "[a b c]"."""
    out: dict[str, str] = {}
    for key, value in claims.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, dict):
            out[key] = json.dumps(value, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


class JwtAuthorizer:
    """Verifies `Authorization` like the HTTP API's JWT authorizer and builds the
    `requestContext.authorizer` block of the event."""

    def __init__(self, secret: str):
        self._secret = secret

    def authorize(self, headers: dict[str, str]) -> dict[str, Any]:
        """headers: lower-cased. Returns the `authorizer` block; raises Unauthorized."""
        claims = verify_token(bearer_token(headers.get("authorization")), secret=self._secret)
        return {"jwt": {"claims": api_gateway_claims(claims), "scopes": None}}
