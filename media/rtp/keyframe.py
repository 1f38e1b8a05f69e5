"""Does an RTP payload start a keyframe? VP8 (RFC 7741) and H.264 (RFC 6184).

The SFU switches a subscriber to another source or layer only at the first packet
of a keyframe, so that the decoder never sees a delta frame without its reference.
"""

from __future__ import annotations

H264_IDR, H264_SPS, H264_STAP_A, H264_FU_A = 5, 7, 24, 28


def starts_keyframe(codec: str, payload: bytes | memoryview) -> bool:
    name = codec.lower()
    if name == "vp8":
        return vp8_starts_keyframe(payload)
    if name == "h264":
        return h264_starts_keyframe(payload)
    return True  # audio: every packet is a switching point


def vp8_starts_keyframe(payload: bytes | memoryview) -> bool:
    """The first packet of a VP8 key frame: S=1, partition 0, and the P bit clear."""
    if len(payload) < 1:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:  # not the start of partition 0
        return False
    pos = 1
    if first & 0x80:  # X: extended control bits
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if len(payload) <= pos:
        return False
    return not payload[pos] & 0x01  # P: 0 = key frame


def h264_starts_keyframe(payload: bytes | memoryview) -> bool:
    """A packet that opens an IDR access unit: an SPS or an IDR slice start."""
    if len(payload) < 1:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (H264_SPS, H264_IDR):
        return True
    if nal_type == H264_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = (payload[pos] << 8) | payload[pos + 1]
            if size == 0:
                return False
            if payload[pos + 2] & 0x1F in (H264_SPS, H264_IDR):
                return True
            pos += 2 + size
        return False
    if nal_type == H264_FU_A:
        if len(payload) < 2:
            return False
        header = payload[1]
        return bool(header & 0x80) and header & 0x1F in (H264_SPS, H264_IDR)
    return False
