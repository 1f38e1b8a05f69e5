"""What a page needs to join a lesson's room on LiveKit (``SANKE_MEDIA_BACKEND=livekit``).

The token endpoint (``POST /api/v1/lessons/{lesson}/token``) hands a page the media grant
the lessons service issued for its seat. With LiveKit, :func:`media_access` turns that very
grant into a LiveKit access token (``media.livekit.tokens``: the same sources, hidden
flag and role), with the address browsers reach LiveKit at; the page then joins with
``web/static/livekit-media.js``, which offers the pages the interface of the embedded
SFU's client over livekit-client's ``Room``.

livekit-client's browser bundle comes from the npm registry (``package.json``): ``npm ci``
(``make node_modules/.installed``) puts it in ``node_modules`` beside the sources, and the
image (``deploy/Dockerfile``) in ``<prefix>/share/sanke/node_modules``. The app serves it
from there at :data:`BUNDLE_URL`; it is never copied into the repository.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from media.grants import verify_grant
from media.livekit.tokens import ROLE_ATTRIBUTE, SOURCE_NAMES, access_token
from web.livekit_media import LiveKitMedia

logger = logging.getLogger(__name__)

#: Where the pages load livekit-client from (``web/templates/live_scripts.html``).
BUNDLE_URL = "/static/vendor/livekit-client.umd.js"
#: The UMD build (global ``LivekitClient``) inside a ``node_modules`` directory.
BUNDLE = Path("livekit-client") / "dist" / "livekit-client.umd.js"
#: Where ``npm ci`` puts ``node_modules``: a checkout, then an installed image.
NODE_MODULES = (
    Path(__file__).resolve().parents[1] / "node_modules",
    Path(sys.prefix) / "share" / "sanke" / "node_modules",
)


def browser_url(url: str) -> str:
    """The WebSocket URL of a LiveKit server given as ``http(s)://`` or ``ws(s)://``."""
    for plain, socket in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(plain):
            return socket + url.removeprefix(plain)
    return url


def media_access(
    signed: str, media_secret: str, livekit: LiveKitMedia | None, now: datetime
) -> dict[str, object]:
    """How a page joins with the grant ``signed`` (signed with ``media_secret`` just now):
    ``backend`` ``embedded`` keeps the embedded SFU's token; ``livekit`` gives a LiveKit
    token for the same grant, LiveKit's URL, and the names the page maps LiveKit's
    participants and tracks back to Sanke's with."""
    if livekit is None:
        return {"backend": "embedded", "token": signed}
    grant = verify_grant(signed, media_secret, now, room=None)
    return {
        "backend": "livekit",
        "url": browser_url(livekit.url),
        "token": access_token(grant, livekit.api_key, livekit.api_secret, now),
        "role_attribute": ROLE_ATTRIBUTE,
        "sources": dict(SOURCE_NAMES),  # Sanke's source name -> LiveKit's
    }


def find_bundle(places: Iterable[Path] = NODE_MODULES) -> Path | None:
    """livekit-client's UMD bundle in the first of ``places`` that has it."""
    for place in places:
        path = place / BUNDLE
        if path.is_file():
            return path
    return None


def check_bundle(places: Iterable[Path] = NODE_MODULES) -> Path | None:
    """:func:`find_bundle`, saying in the log where it is, or what to run if it is not."""
    places = tuple(places)
    path = find_bundle(places)
    if path is None:
        logger.error(
            "LiveKit browser client missing: no %s under %s; the live pages cannot join "
            "LiveKit rooms until `npm ci` (or `make node_modules/.installed`) installs it",
            BUNDLE, " or ".join(str(p) for p in places),
        )  # fmt: skip
    else:
        logger.info("LiveKit browser client: %s", path)
    return path
