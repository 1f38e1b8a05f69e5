"""Classroom hardware (recording boxes, IP cameras, OBS) publishing through LiveKit Ingress.

A box pushes RTMP, or WHIP where it can; the ingress joins the room as the classroom's
identity, its video as the camera and its audio as the microphone. WHIP media is
forwarded as it comes (no transcoding); RTMP is transcoded by the ingress service, since
LiveKit cannot forward RTMP's media as it is. The request builder is pure;
:class:`LiveKitIngress` sends it and returns where the box must push.
"""

from __future__ import annotations

from dataclasses import dataclass

from livekit.api import LiveKitAPI
from livekit.protocol.ingress import (
    CreateIngressRequest,
    DeleteIngressRequest,
    IngressAudioOptions,
    IngressInput,
    IngressVideoOptions,
)
from livekit.protocol.models import TrackSource

from media.livekit.client import call

INPUTS = {"rtmp": IngressInput.RTMP_INPUT, "whip": IngressInput.WHIP_INPUT}


def ingress_request(room: str, identity: str, name: str, protocol: str) -> CreateIngressRequest:
    """A reusable ingress that publishes as ``identity`` in ``room``; ``protocol`` is
    ``rtmp`` or ``whip``."""
    if protocol not in INPUTS:
        raise ValueError(f"ingress protocol {protocol!r}: expected 'rtmp' or 'whip'")
    return CreateIngressRequest(
        input_type=INPUTS[protocol],
        name=f"{room}/{identity}",
        room_name=room,
        participant_identity=identity,
        participant_name=name,
        enable_transcoding=protocol == "rtmp",
        video=IngressVideoOptions(source=TrackSource.CAMERA),
        audio=IngressAudioOptions(source=TrackSource.MICROPHONE),
    )


@dataclass(frozen=True)
class IngressEndpoint:
    ingress_id: str
    url: str  # where the box pushes
    stream_key: str  # appended to the RTMP URL, or the WHIP bearer token


class LiveKitIngress:
    def __init__(self, api: LiveKitAPI) -> None:
        self._api = api

    async def create(self, request: CreateIngressRequest) -> IngressEndpoint:
        info = await call("CreateIngress", self._api.ingress.create_ingress(request))
        return IngressEndpoint(info.ingress_id, info.url, info.stream_key)

    async def delete(self, ingress_id: str) -> None:
        request = DeleteIngressRequest(ingress_id=ingress_id)
        await call("DeleteIngress", self._api.ingress.delete_ingress(request))
