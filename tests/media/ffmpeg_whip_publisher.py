"""Publish a test pattern with FFmpeg's own WHIP muxer (PyAV 18, FFmpeg 8.1), paced.

    python -m tests.media.ffmpeg_whip_publisher URL TOKEN SECONDS

Run as a child process: the muxer blocks, and the SFU must not share its GIL.
"""

from __future__ import annotations

import fractions
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate(folder: Path) -> tuple[Path, Path]:
    """A P-256 certificate for the muxer's DTLS: left to itself, FFmpeg built with
    GnuTLS makes a P-224 key, which OpenSSL 4 (aiortc's DTLS) refuses."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ffmpeg-whip")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "whip-cert.pem", folder / "whip-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def main(url: str, token: str, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cert, key = certificate(Path(folder))
        publish(url, token, seconds, {"cert_file": str(cert), "key_file": str(key)})


def publish(url: str, token: str, seconds: float, tls: dict[str, str]) -> None:
    out = av.open(
        url,
        "w",
        format="whip",
        options={"authorization": token, "handshake_timeout": "5000", **tls},
    )
    video = out.add_stream("libx264", rate=30)
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    video.options = {
        "profile": "baseline",
        "tune": "zerolatency",
        "preset": "ultrafast",
        "bf": "0",
        "g": "30",
    }
    audio = out.add_stream("libopus", rate=48000)
    audio.layout = "stereo"
    start = time.time()
    frames = int(seconds * 30)
    sent_samples = 0
    for index in range(frames):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, (index * 5) % 320 : (index * 5) % 320 + 20] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = index, fractions.Fraction(1, 30)
        for packet in video.encode(frame):
            out.mux(packet)
        while sent_samples < (index + 1) * 1600:  # 48 kHz audio keeps up with 30 fps video
            tone = (np.sin(np.arange(960) / 10.0 + sent_samples) * 8000).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(
                np.tile(tone, 2).reshape(1, -1), format="s16", layout="stereo"
            )
            sound.sample_rate, sound.pts = 48000, sent_samples
            sound.time_base = fractions.Fraction(1, 48000)
            for packet in audio.encode(sound):
                out.mux(packet)
            sent_samples += 960
        delay = start + (index + 1) / 30 - time.time()
        if delay > 0:
            time.sleep(delay)
    out.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
