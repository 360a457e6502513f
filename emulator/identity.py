"""Who calls a private service: service account keys, Google's token endpoint, and ID tokens checked at the URL.

- IAM v1 ``projects.serviceAccounts.keys.create`` makes a key and answers ``privateKeyData``: a
  base64 key file (``type: service_account``), as Google's does, except that its ``token_uri`` is
  this emulator's (every Google endpoint is, here).
- ``POST /token``, the OAuth 2.0 token endpoint (oauth2.googleapis.com/token): a JWT-bearer grant
  (RFC 7523) signed with such a key, checked against the key's public half, answers an ID token
  for its ``target_audience`` (what google-auth's ``service_account.IDTokenCredentials`` asks for)
  or else an access token. The ID token is an RS256 JWT signed by the emulator's own key, with the
  claims Google puts in one: ``iss`` https://accounts.google.com, ``aud``, ``azp``, ``email``,
  ``email_verified``, ``sub``, ``iat``, ``exp``.
- A request to a private service's URL needs ``Authorization: Bearer`` with an ID token whose
  signature, expiry and audience (the service's URL) hold, and whose ``email`` holds
  roles/run.invoker on the service (as ``serviceAccount:`` or ``user:``, or ``allAuthenticatedUsers``),
  else 403 (cloud.google.com/run/docs/authenticating/service-to-service). The literal token
  ``emulator-id-token`` stands for the project owner, the emulator's one anonymous caller, who may
  invoke every service (Owner has run.routes.invoke on the project).
"""

import base64
import datetime
import json
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from emulator.errors import not_found
from emulator.wire import Raw

OWNER_TOKEN = "emulator-id-token"
ISSUER = "https://accounts.google.com"
LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs every assertion for Google's endpoint, whatever the key file's token_uri says.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def oauth_error(error, description):
    """An OAuth 2.0 error answer (RFC 6749 section 5.2), as Google's token endpoint gives it."""
    return Raw(400, json.dumps({"error": error, "error_description": description}).encode(),
               [("Content-Type", "application/json")])


def _pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Identity:
    """Service account keys (store section ``keys``), the token endpoint and the check of an ID token."""

    def __init__(self, store, api_base):
        self.store = store
        self.api_base = api_base  # a callable: the emulator's http://host:port, known once it listens
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex
        self._signer = crypt.RSASigner.from_string(_pem(key), self._kid)
        self._public = _public_pem(key)

    # --------------------------------------------------------------- keys
    def create_key(self, project, account):
        if "@" not in account:
            raise not_found(f"Service account {account} does not exist.")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = uuid.uuid4().hex
        name = f"projects/{project}/serviceAccounts/{account}/keys/{key_id}"
        with self.store.lock:
            self.store.keys[key_id] = {"name": name, "email": account, "public": _public_pem(key)}
            self.store.save()
        key_file = {
            "type": "service_account", "project_id": account.split("@", 1)[1].split(".", 1)[0],
            "private_key_id": key_id, "private_key": _pem(key), "client_email": account,
            "client_id": str(uuid.uuid4().int)[:21], "token_uri": f"{self.api_base()}/token",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        }
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"name": name, "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048",
                "privateKeyData": base64.b64encode(json.dumps(key_file).encode()).decode(),
                "validAfterTime": stamp, "validBeforeTime": "9999-12-31T23:59:59Z", "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "USER_MANAGED"}

    # -------------------------------------------------------------- token
    def token(self, body):
        form = urllib.parse.parse_qs((body or b"").decode())
        if form.get("grant_type", [""])[0] != JWT_BEARER:
            return oauth_error("unsupported_grant_type", "Only the JWT bearer grant of a service account key is "
                                                         "answered here.")
        assertion = form.get("assertion", [""])[0]
        try:
            header = jwt.decode_header(assertion)
            with self.store.lock:
                key = self.store.keys.get(header.get("kid", ""))
            if key is None:
                raise ValueError("the key that signed it is unknown (deleted, or never made here)")
            claims = jwt.decode(assertion, certs=key["public"], audience=[GOOGLE_TOKEN_URI, f"{self.api_base()}/token"])
        except ValueError as exc:
            return oauth_error("invalid_grant", f"Invalid JWT Signature or claims: {exc}")
        if claims.get("iss") != key["email"]:
            return oauth_error("invalid_grant", "The assertion's issuer is not the key's service account.")
        now = int(time.time())
        if claims.get("target_audience"):
            payload = {"iss": ISSUER, "aud": claims["target_audience"], "azp": key["email"], "email": key["email"],
                       "email_verified": True, "sub": str(abs(hash(key["email"])) % 10**21), "iat": now,
                       "exp": now + LIFETIME}
            return {"id_token": jwt.encode(self._signer, payload).decode()}
        return {"access_token": f"emulator-access-{uuid.uuid4().hex}", "expires_in": LIFETIME, "token_type": "Bearer"}

    # ------------------------------------------------------------- checks
    def caller(self, authorization, audiences):
        """(email or OWNER, None) for a valid ID token for one of ``audiences``; (None, why) otherwise."""
        if not authorization.startswith("Bearer "):
            return None, "no ID token"
        token = authorization[len("Bearer "):].strip()
        if token == OWNER_TOKEN:
            return OWNER_TOKEN, None
        try:
            claims = jwt.decode(token, certs=self._public, audience=list(audiences))
        except ValueError as exc:
            return None, f"the ID token is not valid here: {exc}"
        if claims.get("iss") not in (ISSUER, "accounts.google.com") or not claims.get("email"):
            return None, "the token is not a Google ID token with an email"
        return claims["email"], None


def may_invoke(email, members):
    """Whether the caller ``email`` is among an invoker binding's ``members``."""
    if email == OWNER_TOKEN:
        return True
    return bool({f"serviceAccount:{email}", f"user:{email}", "allAuthenticatedUsers"} & set(members))
