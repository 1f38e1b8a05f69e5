"""Recording and patrol thumbnails through LiveKit Egress (DESIGN.md §4, §5).

- A track as it was published, into a file: track egress writes the encoded media into
  the codec's own container (Opus → .ogg, VP8 → .webm, H.264 → .mp4) and never decodes
  or re-encodes it, like the embedded recorder.
- The side-by-side composite of the whole room: room-composite egress, which renders and
  encodes (a composite cannot be made otherwise), into an MP4.
- The patrol wall: a JPEG of a room's video every few seconds, overwritten in place so the
  wall always shows the latest picture (image outputs of a track-composite egress).

Outputs go to S3-compatible storage when an ``S3Upload`` is given, else to the egress
service's local directory. The request builders are pure; :class:`LiveKitEgress` sends them.
Which egresses a room needs, and when, is ``recording_plan``'s decision.
"""

from __future__ import annotations

from livekit.api import LiveKitAPI
from livekit.protocol.egress import (
    DirectFileOutput,
    EgressInfo,
    EncodedFileOutput,
    EncodedFileType,
    EncodingOptionsPreset,
    ImageFileSuffix,
    ImageOutput,
    ListEgressRequest,
    RoomCompositeEgressRequest,
    S3Upload,
    StopEgressRequest,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.models import ImageCodec

from media.livekit.client import call

MAX_PAGES = 100  # of a listing: LiveKit pages long answers


def track_egress(
    room: str, track_sid: str, filepath: str, s3: S3Upload | None = None
) -> TrackEgressRequest:
    """One published track into ``filepath`` (``{track_id}``, ``{time}`` may appear in it)."""
    return TrackEgressRequest(
        room_name=room, track_id=track_sid, file=DirectFileOutput(filepath=filepath, s3=s3)
    )


def thumbnails(
    prefix: str,
    *,
    every_seconds: int = 10,
    width: int = 320,
    height: int = 180,
    s3: S3Upload | None = None,
) -> ImageOutput:
    """A JPEG every ``every_seconds``, always written to ``prefix`` + ``.jpeg``."""
    return ImageOutput(
        capture_interval=every_seconds,
        width=width,
        height=height,
        filename_prefix=prefix,
        filename_suffix=ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE,
        image_codec=ImageCodec.IC_JPEG,
        disable_manifest=True,
        s3=s3,
    )


def room_composite(
    room: str,
    filepath: str,
    *,
    layout: str = "grid",
    s3: S3Upload | None = None,
    images: ImageOutput | None = None,
) -> RoomCompositeEgressRequest:
    """The whole room side by side into an MP4 (720p30 H.264), with thumbnails if asked."""
    return RoomCompositeEgressRequest(
        room_name=room,
        layout=layout,
        preset=EncodingOptionsPreset.H264_720P_30,
        file_outputs=[EncodedFileOutput(file_type=EncodedFileType.MP4, filepath=filepath, s3=s3)],
        image_outputs=[images] if images is not None else [],
    )


def track_thumbnails(
    room: str, video_track_sid: str, images: ImageOutput
) -> TrackCompositeEgressRequest:
    """Thumbnails of one video track and nothing else (no file, no stream)."""
    return TrackCompositeEgressRequest(
        room_name=room, video_track_id=video_track_sid, image_outputs=[images]
    )


class LiveKitEgress:
    """Starts and stops egress jobs; their progress arrives as ``egress_*`` webhooks."""

    def __init__(self, api: LiveKitAPI) -> None:
        self._api = api

    async def record_track(self, request: TrackEgressRequest) -> str:
        info = await call("StartTrackEgress", self._api.egress.start_track_egress(request))
        return info.egress_id

    async def record_room(self, request: RoomCompositeEgressRequest) -> str:
        start = self._api.egress.start_room_composite_egress(request)
        return (await call("StartRoomCompositeEgress", start)).egress_id

    async def thumbnails(self, request: TrackCompositeEgressRequest) -> str:
        start = self._api.egress.start_track_composite_egress(request)
        return (await call("StartTrackCompositeEgress", start)).egress_id

    async def stop(self, egress_id: str) -> None:
        request = StopEgressRequest(egress_id=egress_id)
        await call("StopEgress", self._api.egress.stop_egress(request))

    async def list(self, request: ListEgressRequest) -> list[EgressInfo]:
        """The egresses ``request`` selects (by room, by id, active only), every page."""
        items: list[EgressInfo] = []
        for _ in range(MAX_PAGES):
            answer = await call("ListEgress", self._api.egress.list_egress(request))
            items += answer.items
            if not answer.next_page_token.token:
                break
            following = ListEgressRequest()
            following.CopyFrom(request)
            following.page_token.CopyFrom(answer.next_page_token)
            request = following
        return items
