"""The heaviest requests a model server accepts, sent to measure its memory for a limit.

Introduced in notebooks/11_kubernetes.ipynb (requests and limits): for every model the server
serves, batches as large as ``MAX_BATCH``, the request body limit and the model card's own
``max_batch`` allow, with values in the card's input range, sent as binary tensors (the Open
Inference Protocol's compact form, lesson 07). Client code: the serving image does not ship it.
"""

from __future__ import annotations

import json
import math
import urllib.request
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeavyRequest:
    """One model's heaviest batch: its size, one instance's shape and type, and its bytes."""

    model: str
    batch: int
    shape: tuple[int, ...]
    dtype: str
    nbytes: int

    def __str__(self) -> str:
        mib = self.nbytes / 2**20
        return f"{self.model:<10} {self.batch:>4} × {list(self.shape)} {self.dtype} ({mib:.1f} MiB)"


def largest_batch(
    max_batch: int, card_max: int | None, body_limit: int, itemsize: int, shape
) -> int:
    """The most instances one request may carry: the server's and the card's batch limits,
    and what fits in the body limit with a byte to spare for the request's JSON header."""
    per_instance = itemsize * math.prod(shape)
    if per_instance <= 0 or max_batch < 1:
        raise ValueError("need a positive instance size and max_batch >= 1")
    return max(0, min(max_batch, card_max or max_batch, body_limit // per_instance - 1))


def send_heaviest(
    url: str, max_batch: int, body_limit: int, repeats: int = 5, seed: int = 0
) -> list[HeavyRequest]:
    """Send each served model's heaviest batch ``repeats`` times; what was sent, per model."""
    import tritonclient.http as triton  # client-only dependency

    with urllib.request.urlopen(url + "/metadata", timeout=5) as answer:
        cards = {card["name"]: card for card in json.load(answer)["models"]}
    client, sent = triton.InferenceServerClient(url.removeprefix("http://")), []
    rng = np.random.default_rng(seed)
    try:
        for name in sorted(cards):
            tensor = client.get_model_metadata(name)["inputs"][0]
            shape = tuple(int(d) for d in tensor["shape"][1:])
            dtype = np.dtype(triton.triton_to_np_dtype(tensor["datatype"]))
            card = cards[name]
            n = largest_batch(max_batch, card.get("max_batch"), body_limit, dtype.itemsize, shape)
            low, high = card["preprocessing"].get("input_range", (0, 1))
            x = rng.uniform(low, high, (n, *shape)).astype(dtype)
            batch = triton.InferInput(tensor["name"], list(x.shape), tensor["datatype"])
            batch.set_data_from_numpy(x, binary_data=True)
            for _ in range(repeats):
                client.infer(name, [batch])
            sent.append(HeavyRequest(name, n, shape, str(dtype), x.nbytes))
    finally:
        client.close()
    return sent
