"""The media port the live-lessons service uses: the embedded SFU (``media.sfu.Sfu``) and
the LiveKit adapter (``media.livekit.rooms.LiveKitRooms``) both fit it."""

from __future__ import annotations

from typing import Protocol


class MediaPort(Protocol):
    async def close_room(self, room_id: str, code: str, message: str) -> None:
        """Tell everyone in the room why (``code``), then let them all go."""

    def update_grant(
        self,
        room_id: str,
        identity: str,
        can_publish: frozenset[str],
        audience: frozenset[str] | None = None,
    ) -> None:
        """Change what a participant may publish now, and who may receive it."""
