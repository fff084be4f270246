"""A minimal reader of TensorBoard event files (events.out.tfevents.*), for checking what `tensorboard --logdir`
would show without installing TensorBoard: TFRecord framing (length, its CRC, the record, its CRC) around Event
protos, decoded with the proto classes of tensorboardX (which Ray Tune's TBX logger writes them with)."""
from __future__ import annotations

import struct
from pathlib import Path


def scalars(path: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value), ...] of every scalar summary in one event file."""
    from tensorboardX.proto import event_pb2

    data = Path(path).read_bytes()
    out: dict[str, list[tuple[int, float]]] = {}
    i = 0
    while i + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[i:i + 8])
        record = data[i + 12:i + 12 + length]
        i += 12 + length + 4
        event = event_pb2.Event.FromString(record)
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out
