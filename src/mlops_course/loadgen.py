"""A closed-loop load generator: N clients, each sending its next request when the last returns.

Every client runs in its own thread for a fixed time and records each call's latency; the
result is throughput (requests and samples per second) and p50/p99 latency. The clients share
the machine with the server, so on a 2-core laptop the numbers include the client's own cost:
compare setups measured the same way, in the same run, as ratios.

Introduced in notebooks/08_measuring_a_server.ipynb; ``benchmarks/serving.py`` uses it too.
Client code (it needs ``requests`` and ``tritonclient``): the serving image does not ship it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import requests

from mlops_course.serving.protocol import DATATYPES, HEADER_LENGTH, datatype_of

Call = Callable[[], bool]  # one request; True when the answer was right


@dataclass(frozen=True)
class LoadResult:
    """What one closed-loop run measured."""

    clients: int
    batch: int
    seconds: float
    requests: int
    errors: int
    requests_per_s: float
    samples_per_s: float
    p50_ms: float
    p99_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def closed_loop(
    make_call: Callable[[], Call],
    clients: int,
    seconds: float,
    batch: int = 1,
    warmup: int = 2,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """Run ``clients`` threads, each with its own ``make_call()``, for ``seconds``.

    Introduced in notebooks/08_measuring_a_server.ipynb. Each thread builds its client and
    warms up before the clock starts. A call that raises or returns False counts as an error.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1, timeout=120)
    deadline = [0.0]

    def attempt(call: Call) -> bool:
        try:
            return bool(call())
        except Exception:
            return False

    def client(i: int) -> None:
        call = make_call()  # in this thread: some clients keep per-thread state
        for _ in range(warmup):
            errors[i] += not attempt(call)
        start_line.wait()
        while time.perf_counter() < deadline[0] and len(latencies[i]) < max_requests:
            t0 = time.perf_counter()
            ok = attempt(call)
            latencies[i].append(time.perf_counter() - t0)
            errors[i] += not ok

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + 3600  # set for real once every client is ready
    start_line.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - began
    times = np.concatenate([np.asarray(t) for t in latencies]) * 1e3
    count = len(times)
    return LoadResult(
        clients,
        batch,
        round(elapsed, 3),
        count,
        sum(errors),
        count / elapsed,
        count * batch / elapsed,
        float(np.percentile(times, 50)),
        float(np.percentile(times, 99)),
    )


def wire_array(x: np.ndarray) -> np.ndarray:
    """``x`` as the clients here send it: floats as little-endian FP32, integers as they are
    (the heavy model takes UINT8 pixels). Introduced in notebooks/08_measuring_a_server.ipynb.
    """
    x = np.asarray(x)
    dtype = np.dtype("<f4") if x.dtype.kind == "f" else x.dtype.newbyteorder("<")
    return np.ascontiguousarray(x, dtype=dtype)


def v2_body(x: np.ndarray, name: str, binary: bool) -> tuple[bytes, dict[str, str]]:
    """An Open Inference Protocol infer body for one input, as ``tritonclient`` builds it.

    Introduced in notebooks/07_serving_with_flask.ipynb. ``binary=True`` uses the binary tensor
    extension for the input and asks for a binary output. ``x`` goes as :func:`wire_array`.
    """
    x = wire_array(x)
    tensor = {"name": name, "shape": list(x.shape), "datatype": datatype_of(x.dtype)}
    if not binary:
        header = {"inputs": [{**tensor, "data": x.ravel().tolist()}]}
        return json.dumps(header).encode(), {"Content-Type": "application/json"}
    tensor["parameters"] = {"binary_data_size": x.nbytes}
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
    headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
    return header + x.tobytes(), headers


def triton_caller(url: str, model: str, x: np.ndarray, binary: bool) -> Call:
    """A call that sends ``x`` with ``tritonclient.http``, JSON or binary tensors both ways.

    Introduced in notebooks/08_measuring_a_server.ipynb. The tensor is encoded on every call,
    as a real client must, so the cost of JSON is counted on both sides.
    """
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=60)
    metadata = client.get_model_metadata(model)
    input_name, output_name = metadata["inputs"][0]["name"], metadata["outputs"][0]["name"]
    x = wire_array(x)

    def call() -> bool:
        tensor = triton.InferInput(input_name, list(x.shape), datatype_of(x.dtype))
        tensor.set_data_from_numpy(x, binary_data=binary)
        wanted = triton.InferRequestedOutput(output_name, binary_data=binary)
        result = client.infer(model, [tensor], outputs=[wanted])
        return result.as_numpy(output_name).shape[0] == len(x)

    return call


def binary_header(x: np.ndarray, input_name: str, output_name: str) -> tuple[bytes, dict]:
    """The JSON header and HTTP headers of a binary infer request for the little-endian ``x``.

    The body is the header followed by ``x``'s bytes; the output comes back binary too.
    Introduced in notebooks/08_measuring_a_server.ipynb.
    """
    tensor = {
        "name": input_name,
        "shape": list(x.shape),
        "datatype": datatype_of(x.dtype),
        "parameters": {"binary_data_size": x.nbytes},
    }
    wanted = {"name": output_name, "parameters": {"binary_data": True}}
    header = json.dumps({"inputs": [tensor], "outputs": [wanted]}).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        HEADER_LENGTH: str(len(header)),
        "Content-Length": str(len(header) + x.nbytes),
    }
    return header, headers


def binary_output(body: bytes, header_length: str) -> np.ndarray:
    """The first output of a binary infer answer: its JSON header says shape and datatype.

    Introduced in notebooks/08_measuring_a_server.ipynb.
    """
    length = int(header_length)
    output = json.loads(body[:length])["outputs"][0]
    dtype = DATATYPES[output["datatype"]]
    return np.frombuffer(body, dtype, offset=length).reshape(output["shape"])


def binary_caller(url: str, model: str, x: np.ndarray) -> Call:
    """A lean Open Inference Protocol client: binary tensors both ways, one kept-alive connection.

    Introduced in notebooks/08_measuring_a_server.ipynb. It sends the JSON header and then the
    array's own memory (no ``tobytes``, no concatenation): the kernel's copy is the only one.
    ``tritonclient`` copies a tensor three times in Python before sending it, which matters
    for large tensors when client and server share two cores (``benchmarks/serving.py``
    measures both clients).
    """
    import http.client

    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port or 80), timeout=60)
    connection.request("GET", f"/v2/models/{model}")
    metadata = json.loads(connection.getresponse().read())
    input_name, output_name = metadata["inputs"][0]["name"], metadata["outputs"][0]["name"]
    x = wire_array(x)
    path = f"/v2/models/{model}/infer"

    def call() -> bool:
        header, headers = binary_header(x, input_name, output_name)
        connection.request("POST", path, body=(header, memoryview(x).cast("B")), headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            return False
        return binary_output(body, answer.headers[HEADER_LENGTH]).shape[0] == len(x)

    return call


def json_caller(endpoint: str, x: np.ndarray) -> Call:
    """A call that POSTs ``{"instances": x}`` as JSON (``/predict``, TF Serving, a naive server)."""
    session = requests.Session()
    x = np.asarray(x, dtype=np.float32)

    def call() -> bool:
        answer = session.post(endpoint, json={"instances": x.tolist()}, timeout=60)
        return answer.status_code == 200 and len(answer.json()["predictions"]) == len(x)

    return call
