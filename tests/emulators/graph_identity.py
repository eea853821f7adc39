"""Microsoft identity platform (v2.0) for the Graph emulator: tenants, apps, users, tokens."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from google.auth import crypt, jwt

from tests.emulators.keys import private_pem, rsa_key
from tests.emulators.server import Request, Response

GRAPH = "https://graph.microsoft.com"
DEFAULT_SCOPE = GRAPH + "/.default"
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}


@dataclass
class App:
    tenant: str
    client_id: str
    secret: str
    roles: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    disabled: bool = False
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class User:
    tenant: str
    upn: str
    kind: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Grant:
    """A user's delegated consent to an app (its refresh tokens)."""

    client_id: str
    user: User
    scopes: frozenset[str]
    refresh_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class Token:
    """An issued access token (JWT-shaped) and who it speaks for."""

    value: str
    tenant: str
    app: App
    user: User | None
    permissions: frozenset[str]
    expires_at: float
    grant: Grant | None = None
    revoked: bool = False

    @property
    def app_only(self) -> bool:
        return self.user is None

    def valid(self, now: float) -> bool:
        if self.revoked or now >= self.expires_at or self.app.disabled:
            return False
        return not (self.grant is not None and self.grant.revoked)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user: User
    scopes: frozenset[str]
    nonce: str | None
    challenge: str | None
    method: str
    expires_at: float


def aad_error(status: int, error: str, code: int, message: str) -> Response:
    """An identity-platform error body, with the AADSTS code as Azure AD writes it."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
    }
    return Response.json(status, body)


def _graph_scopes(scopes: frozenset[str]) -> frozenset[str]:
    """Delegated scopes without the resource prefix and the OpenID ones."""
    out = set()
    for scope in scopes:
        name = scope[len(GRAPH) + 1 :] if scope.lower().startswith(GRAPH + "/") else scope
        if name not in OIDC_SCOPES:
            out.add(name)
    return frozenset(out)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class GraphIdentity:
    """Tenants, apps, users, consents and tokens; the emulator's lock guards it."""

    base_url: str
    token_lifetime: int = 3600
    tenants: set[str] = field(default_factory=set)
    apps: dict[str, App] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by id and by lower-cased upn
    grants: list[Grant] = field(default_factory=list)
    tokens: dict[str, Token] = field(default_factory=dict)
    consent_user: str | None = None
    _codes: dict[str, _Code] = field(default_factory=dict)

    def _signer(self) -> crypt.RSASigner:
        return crypt.RSASigner.from_string(private_pem(rsa_key(0)), key_id="graph-emulator")

    def _jwt(self, claims: dict[str, object]) -> str:
        return jwt.encode(self._signer(), claims).decode("ascii")  # type: ignore[no-untyped-call]

    def user(self, key: str) -> User | None:
        return self.users.get(key.lower())

    def add_user(self, tenant: str, upn: str, kind: str) -> User:
        found = User(tenant, upn.lower(), kind)
        self.users[found.id] = found
        self.users[found.upn] = found
        return found

    # --- endpoints -------------------------------------------------------------------------

    def openid_configuration(self, tenant: str) -> Response:
        if tenant not in self.tenants:
            return aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        root = f"{self.base_url}{tenant}"
        return Response.json(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{root}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.base_url}oidc/userinfo",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "oid",
                ],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            },
        )

    def authorize(self, tenant: str, req: Request) -> Response:
        app = self.apps.get(req.arg("client_id") or "")
        if app is None or app.tenant != tenant:
            return Response(400, b"AADSTS700016: Application not found in the directory.")
        redirect = req.arg("redirect_uri") or ""
        if app.redirect_uris and redirect not in app.redirect_uris:
            return Response(
                400, b"AADSTS50011: The redirect URI does not match the redirect URIs configured."
            )
        params: dict[str, str] = {}
        if req.arg("state") is not None:
            params["state"] = req.arg("state") or ""
        who = self.user(self.consent_user) if self.consent_user else None
        if who is None or who.kind != "user" or who.tenant != tenant:
            params["error"] = "access_denied"
            params["error_description"] = "AADSTS65004: User declined to consent to access the app."
        else:
            code = "0.A" + secrets.token_urlsafe(60)
            self._codes[code] = _Code(
                app.client_id,
                redirect,
                who,
                frozenset((req.arg("scope") or "").split()),
                req.arg("nonce"),
                req.arg("code_challenge"),
                req.arg("code_challenge_method") or "plain",
                time.time() + 600,
            )
            params["code"] = code
            if req.arg("client_info") == "1":
                params["client_info"] = self._client_info(who)
            params["session_state"] = str(uuid.uuid4())
        if req.arg("response_mode") == "form_post":  # what msal recommends (it warns otherwise)
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                for k, v in params.items()
            )
            page = (
                f'<html><head><title>Working...</title></head><body onload="document.forms[0].submit()">'
                f'<form method="POST" name="hiddenform" action="{html.escape(redirect)}">{fields}'
                f'<noscript><input type="submit" value="Continue"/></noscript></form></body></html>'
            )
            return Response(200, page.encode(), [("Content-Type", "text/html; charset=utf-8")])
        sep = "&" if "?" in redirect else "?"
        return Response(302, b"", [("Location", redirect + sep + urllib.parse.urlencode(params))])

    def token(self, tenant: str, req: Request) -> Response:
        if tenant not in self.tenants:
            return aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        form = req.form()
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = req.header("authorization") or ""
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = (urllib.parse.unquote(p) for p in decoded.partition(":"))
        app = self.apps.get(client_id)
        if app is None or app.tenant != tenant:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if not secrets.compare_digest(app.secret, secret):
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            )
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            return self._client_credentials(app, form)
        if app.disabled:
            return aad_error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked.",
            )
        if grant_type == "authorization_code":
            return self._auth_code(app, form)
        if grant_type == "refresh_token":
            return self._refresh(app, form)
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _client_credentials(self, app: App, form: dict[str, str]) -> Response:
        scopes = form.get("scope", "").split()
        if scopes != [DEFAULT_SCOPE]:
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scopes)} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        if app.disabled:
            return aad_error(
                400, "unauthorized_client", 7000112, f"Application '{app.client_id}' is disabled."
            )
        token = self._issue(app, None, frozenset(app.roles), None)
        return self._answer(token, None, None, None)

    def _auth_code(self, app: App, form: dict[str, str]) -> Response:
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.client_id != app.client_id or code.expires_at < time.time():
            return aad_error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity.",
            )
        if form.get("redirect_uri") != code.redirect_uri:
            return aad_error(
                400,
                "invalid_grant",
                50148,
                "The redirect_uri does not match the one used in the authorization request.",
            )
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            made = (
                _b64(hashlib.sha256(verifier.encode()).digest())
                if code.method == "S256"
                else verifier
            )
            if made != code.challenge:
                return aad_error(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                )
        grant = Grant(app.client_id, code.user, code.scopes)
        self.grants.append(grant)
        return self._delegated(app, grant, code.nonce)

    def _refresh(self, app: App, form: dict[str, str]) -> Response:
        refresh = form.get("refresh_token", "")
        grant = next((g for g in self.grants if refresh in g.refresh_tokens), None)
        if grant is None or grant.client_id != app.client_id:
            return aad_error(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if grant.revoked:
            return aad_error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
            )
        return self._delegated(app, grant, None)

    def _delegated(self, app: App, grant: Grant, nonce: str | None) -> Response:
        token = self._issue(app, grant.user, _graph_scopes(grant.scopes), grant)
        refresh = None
        if "offline_access" in grant.scopes:
            refresh = "1.A" + secrets.token_urlsafe(80)
            grant.refresh_tokens.add(refresh)
        id_token = self._id_token(app, grant.user, nonce) if "openid" in grant.scopes else None
        return self._answer(token, refresh, id_token, self._client_info(grant.user))

    def _issue(
        self, app: App, user: User | None, permissions: frozenset[str], grant: Grant | None
    ) -> Token:
        now = int(time.time())
        claims: dict[str, object] = {
            "aud": GRAPH,
            "iss": f"https://sts.windows.net/{app.tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "appid": app.client_id,
            "tid": app.tenant,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        if user is None:
            claims |= {
                "idtyp": "app",
                "oid": app.object_id,
                "sub": app.object_id,
                "roles": sorted(permissions),
            }
        else:
            claims |= {
                "idtyp": "user",
                "oid": user.id,
                "sub": user.id,
                "upn": user.upn,
                "scp": " ".join(sorted(permissions)),
            }
        token = Token(
            self._jwt(claims), app.tenant, app, user, permissions, now + self.token_lifetime, grant
        )
        self.tokens[token.value] = token
        return token

    def _id_token(self, app: App, user: User, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "aud": app.client_id,
            "iss": f"{self.base_url}{app.tenant}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.upn.partition("@")[0],
            "oid": user.id,
            "preferred_username": user.upn,
            "sub": _b64(hashlib.sha256(user.id.encode()).digest()),
            "tid": user.tenant,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self._jwt(claims)

    @staticmethod
    def _client_info(user: User) -> str:
        return _b64(json.dumps({"uid": user.id, "utid": user.tenant}).encode())

    def _answer(
        self, token: Token, refresh: str | None, id_token: str | None, client_info: str | None
    ) -> Response:
        body: dict[str, object] = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token.value,
        }
        if token.user is not None:
            body["scope"] = " ".join(sorted(token.permissions))
        if refresh:
            body["refresh_token"] = refresh
        if id_token:
            body["id_token"] = id_token
        if client_info:
            body["client_info"] = client_info
        return Response.json(200, body, [("Cache-Control", "no-store, no-cache")])

    # --- checking and revoking -------------------------------------------------------------

    def check(self, req: Request) -> Token | str:
        """The caller's valid token, or why not (a Graph 401 message)."""
        value = req.header("authorization") or ""
        scheme, _, raw = value.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return "Access token is empty."
        token = self.tokens.get(raw.strip())
        if token is None:
            return (
                "IDX14100: JWT is not well formed, there are no dots (.)."
                if "." not in raw
                else "Access token validation failure. Invalid audience."
            )
        if time.time() >= token.expires_at:
            return "Lifetime validation failed, the token is expired."
        if not token.valid(time.time()):
            return "Access token has been revoked."
        return token

    def revoke(self, user_or_app: str) -> int:
        """Revoke a user's delegated consents (by UPN or id) or an app (by client id): everything it holds."""
        count = 0
        app = self.apps.get(user_or_app)
        if app is not None:
            app.disabled = True
            count += 1
        who = self.user(user_or_app)
        for grant in self.grants:
            if (app is not None and grant.client_id == app.client_id) or (
                who is not None and grant.user is who
            ):
                grant.revoked = True
                count += 1
        return count

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = 0.0
