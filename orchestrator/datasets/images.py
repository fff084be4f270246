"""Images stored inline in the data parquet, as LeRobot's `image` dtype does: a struct {bytes: PNG, path: null}."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # the Hugging Face `Image` feature


def encode_png(image: np.ndarray) -> bytes:
    """An RGB uint8 (H, W, 3) image -> PNG bytes (lossless)."""
    import av

    codec = av.CodecContext.create("png", "w")
    codec.height, codec.width, codec.pix_fmt = *image.shape[:2], "rgb24"
    packets = codec.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"))
    return b"".join(bytes(packet) for packet in packets + codec.encode(None))


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> an RGB uint8 (H, W, 3) image."""
    import av

    frames = av.CodecContext.create("png", "r").decode(av.Packet(data))  # a fresh decoder: a reused one lags
    return frames[0].to_ndarray(format="rgb24")


def image_column(images: np.ndarray) -> pa.Array:
    """(T, H, W, 3) uint8 images -> a column of PNG structs."""
    return pa.array([{"bytes": encode_png(image), "path": None} for image in images], IMAGE_TYPE)
