"""Google's OAuth 2.0 side: service accounts with delegation, the web flow, tokens, revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from google.auth import crypt, exceptions, jwt

from tests.emulators.google_wire import ApiError
from tests.emulators.keys import private_pem, public_pem, rsa_key
from tests.emulators.server import Request, Response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth always signs for it
ISSUER = "https://accounts.google.com"
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)
BAD_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    domain: str
    key_id: str
    public_pem: str


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class Grant:
    """A user's consent to an OAuth client (a refresh token), or a delegated service account."""

    client_id: str
    user: str
    scopes: frozenset[str]
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class AccessToken:
    """An opaque access token and who it speaks for."""

    token: str
    user: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    grant: Grant | None = None
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return (
            not self.revoked and now < self.expires_at and not (self.grant and self.grant.revoked)
        )


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user: str
    scopes: frozenset[str]
    offline: bool
    expires_at: float


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


@dataclass
class GoogleIdentity:
    """Who may get tokens, and the tokens issued; the emulator's lock guards it.

    Attributes:
        is_user: Whether an email is a user of the emulator.
        token_lifetime: Seconds an access token lives (``expires_in``).
    """

    is_user: Callable[[str], bool]
    token_lifetime: int = 3600
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    delegations: dict[str, frozenset[str]] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    consent_user: str | None = None
    _codes: dict[str, _Code] = field(default_factory=dict)
    _signer_index: int = 0

    # --- set-up ----------------------------------------------------------------------------

    def add_service_account(self, domain: str, token_uri: str, auth_uri: str) -> dict[str, str]:
        index = len(self.service_accounts) + 1
        key = rsa_key(index)
        client_id = str(100000000000000000000 + index * 7919)
        email = f"sencocal-sync-{index}@school-project-{index}.iam.gserviceaccount.com"
        key_id = secrets.token_hex(20)
        self.service_accounts[email] = ServiceAccount(
            email, client_id, domain, key_id, public_pem(key)
        )
        return {
            "type": "service_account",
            "project_id": f"school-project-{index}",
            "private_key_id": key_id,
            "private_key": private_pem(key),
            "client_email": email,
            "client_id": client_id,
            "auth_uri": auth_uri,
            "token_uri": token_uri,
            "universe_domain": "googleapis.com",
        }

    def service_account_by_client_id(self, client_id: str) -> ServiceAccount | None:
        return next(
            (sa for sa in self.service_accounts.values() if sa.client_id == client_id), None
        )

    # --- the authorize page ----------------------------------------------------------------

    def authorize(self, req: Request) -> Response:
        client = self.clients.get(req.arg("client_id") or "")
        if client is None:
            return Response(401, b"Error 401: invalid_client. The OAuth client was not found.")
        redirect_uri = req.arg("redirect_uri") or ""
        if redirect_uri not in client.redirect_uris:
            return Response(400, b"Error 400: redirect_uri_mismatch")
        if req.arg("response_type") != "code":
            return Response(400, b"Error 400: unsupported_response_type")
        params: dict[str, str] = {}
        if req.arg("state") is not None:
            params["state"] = req.arg("state") or ""
        user = self.consent_user
        scopes = frozenset((req.arg("scope") or "").split())
        if user is None:
            params["error"] = "access_denied"
        elif not scopes:
            return Response(400, b"Error 400: invalid_request. Missing required parameter: scope")
        else:
            code = "4/" + secrets.token_urlsafe(30)
            self._codes[code] = _Code(
                client.client_id,
                redirect_uri,
                user,
                scopes,
                req.arg("access_type") == "offline",
                time.time() + 600,
            )
            params["code"] = code
            params["scope"] = " ".join(sorted(scopes))
        sep = "&" if "?" in redirect_uri else "?"
        return Response(
            302, b"", [("Location", redirect_uri + sep + urllib.parse.urlencode(params))]
        )

    # --- the token endpoint ----------------------------------------------------------------

    def token(self, req: Request, token_uri: str) -> Response:
        form = req.form()
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""), token_uri)
        if grant_type in {"authorization_code", "refresh_token"}:
            client = self._client(req, form)
            if client is None:
                return _oauth_error(401, "invalid_client", "Unauthorized")
            if grant_type == "authorization_code":
                return self._code_grant(client, form)
            return self._refresh_grant(client, form)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _client(self, req: Request, form: dict[str, str]) -> OAuthClient | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = req.header("authorization") or ""
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
            client_id, secret = urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.client_secret, secret or ""):
            return None
        return client

    def _issue(
        self, user: str, client_id: str, scopes: frozenset[str], grant: Grant | None
    ) -> AccessToken:
        token = AccessToken(
            "ya29." + secrets.token_urlsafe(48),
            user,
            client_id,
            scopes,
            time.time() + self.token_lifetime,
            grant,
        )
        self.tokens[token.token] = token
        return token

    def _answer(
        self, token: AccessToken, refresh: str | None = None, id_token: str | None = None
    ) -> Response:
        body: dict[str, object] = {
            "access_token": token.token,
            "expires_in": self.token_lifetime,
            "scope": " ".join(sorted(token.scopes)),
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = refresh
        if id_token:
            body["id_token"] = id_token
        return Response.json(200, body, [("Cache-Control", "no-store")])

    def _jwt_grant(self, assertion: str, token_uri: str) -> Response:
        try:
            claims = jwt.decode(assertion, verify=False)
        except (ValueError, exceptions.GoogleAuthError):
            return _oauth_error(400, "invalid_grant", "Invalid JWT: not a JWT.")
        account = self.service_accounts.get(str(claims.get("iss", "")))
        if account is None:
            return _oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        try:
            jwt.decode(assertion, certs={account.key_id: account.public_pem}, verify=True)
        except exceptions.InvalidValue as error:
            if "Token" in str(error) or "iat" in str(error) or "exp" in str(error):
                return _oauth_error(400, "invalid_grant", BAD_TIMES)
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        except (ValueError, exceptions.GoogleAuthError):
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") not in {GOOGLE_TOKEN_AUDIENCE, token_uri}:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        if int(claims.get("exp", 0)) - int(claims.get("iat", 0)) > 3600:
            return _oauth_error(400, "invalid_grant", BAD_TIMES)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return _oauth_error(
                400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        subject = claims.get("sub")
        if subject is None or subject == account.client_email:
            return self._answer(self._issue(account.client_email, account.client_id, scopes, None))
        subject = str(subject)
        if subject.rpartition("@")[2] != account.domain or not self.is_user(subject):
            return _oauth_error(400, "invalid_grant", "Invalid email or User ID")
        delegated = self.delegations.get(account.client_id)
        if delegated is None or not scopes <= delegated:
            return _oauth_error(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
        return self._answer(self._issue(subject, account.client_id, scopes, None))

    def _code_grant(self, client: OAuthClient, form: dict[str, str]) -> Response:
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.client_id != client.client_id or code.expires_at < time.time():
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        grant = Grant(client.client_id, code.user, code.scopes)
        if code.offline:
            grant.refresh_token = "1//" + secrets.token_urlsafe(60)
        self.grants.append(grant)
        token = self._issue(code.user, client.client_id, code.scopes, grant)
        id_token = self.id_token(client.client_id, code.user) if "openid" in code.scopes else None
        return self._answer(token, grant.refresh_token, id_token)

    def _refresh_grant(self, client: OAuthClient, form: dict[str, str]) -> Response:
        refresh = form.get("refresh_token", "")
        grant = next(
            (g for g in self.grants if g.refresh_token and g.refresh_token == refresh), None
        )
        if grant is None or grant.revoked or grant.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        scopes = grant.scopes
        if form.get("scope"):
            asked = frozenset(form["scope"].split())
            if not asked <= grant.scopes:
                return _oauth_error(400, "invalid_scope", "Bad Request")
            scopes = asked
        return self._answer(self._issue(grant.user, client.client_id, scopes, grant))

    # --- id tokens -------------------------------------------------------------------------

    def id_token(self, audience: str, user: str) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": audience,
            "azp": audience,
            "sub": str(int(hashlib.sha256(user.encode()).hexdigest(), 16) % 10**21),
            "email": user,
            "email_verified": True,
            "hd": user.rpartition("@")[2],
            "iat": now,
            "exp": now + 3600,
        }
        signer = crypt.RSASigner.from_string(private_pem(rsa_key(0)), key_id="emulator-0")
        return jwt.encode(signer, payload).decode("ascii")

    @staticmethod
    def certs() -> dict[str, str]:
        """The id-token signing keys, as Google's v1 certs endpoint maps key id to PEM."""
        return {"emulator-0": public_pem(rsa_key(0))}

    # --- checking and revoking -------------------------------------------------------------

    def check(self, req: Request) -> AccessToken:
        """The caller's valid token, or Google's 401."""
        value = req.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        found = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if found is None or not found.valid(time.time()):
            raise ApiError(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                location_type="header",
                headers=[
                    (
                        "WWW-Authenticate",
                        'Bearer realm="https://accounts.google.com/", error="invalid_token"',
                    )
                ],
            )
        return found

    def revoke(self, user_or_client: str) -> int:
        """Revoke every grant of a user or an OAuth client, or a service account's delegation."""
        count = 0
        for grant in self.grants:
            if user_or_client in (grant.user, grant.client_id) and not grant.revoked:
                grant.revoked = True
                count += 1
        account = self.service_account_by_client_id(user_or_client) or self.service_accounts.get(
            user_or_client
        )
        if account is not None:
            count += int(self.delegations.pop(account.client_id, None) is not None)
        for token in self.tokens.values():
            if token.grant is None and account is not None and token.client_id == account.client_id:
                token.revoked = True
        return count

    def revoke_token(self, value: str) -> bool:
        """The ``/revoke`` endpoint: a refresh or access token ends its whole grant."""
        for grant in self.grants:
            if grant.refresh_token == value:
                grant.revoked = True
                return True
        token = self.tokens.get(value)
        if token is None:
            return False
        token.revoked = True
        if token.grant is not None:
            token.grant.revoked = True
        return True

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (clients still think them valid)."""
        for token in self.tokens.values():
            token.expires_at = 0.0
