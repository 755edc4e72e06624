"""Auth0's Python SDK (auth0-python) against signet over HTTPS: a Management API token with a
client secret, a Management API call, and an access token with Private Key JWT, the SDK signing
the assertion itself. The server's CA is trusted through REQUESTS_CA_BUNDLE (authentication, on requests) and
SSL_CERT_FILE (management, on httpx), as users do.

Run by tests/it/tls.rs with: SIGNET_DOMAIN (host:port), SIGNET_BOOTSTRAP_ID,
SIGNET_BOOTSTRAP_SECRET, SIGNET_KEY_CLIENT_ID, SIGNET_KEY_FILE, SIGNET_API. Prints one JSON line.
"""

import json
import os

from auth0.authentication import GetToken
from auth0.management import Auth0

domain = os.environ["SIGNET_DOMAIN"]

management = GetToken(
    domain, os.environ["SIGNET_BOOTSTRAP_ID"], client_secret=os.environ["SIGNET_BOOTSTRAP_SECRET"]
).client_credentials(f"https://{domain}/api/v2/")

# auth0-python 6: a generated client on httpx, which trusts SSL_CERT_FILE.
api = Auth0(base_url=f"https://{domain}/api/v2", token=management["access_token"])
clients = [c.model_dump() if hasattr(c, "model_dump") else dict(c) for c in api.clients.list()]

with open(os.environ["SIGNET_KEY_FILE"]) as f:
    signing_key = f.read()
issued = GetToken(
    domain,
    os.environ["SIGNET_KEY_CLIENT_ID"],
    client_assertion_signing_key=signing_key,
    client_assertion_signing_alg="RS256",
).client_credentials(os.environ["SIGNET_API"])

print(
    json.dumps(
        {
            "client_ids": [c["client_id"] for c in clients],
            "access_token": issued["access_token"],
            "token_type": issued["token_type"],
        }
    )
)
