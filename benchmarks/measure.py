"""One measurement, in a fresh process: `python benchmarks/measure.py '<spec as JSON>'`.

bench_rnn.py starts one process per (implementation, model, size, mode, variant): a
fresh process gives a clean peak-memory reading, and TF_USE_LEGACY_KERAS (TF1's path)
only takes effect before TensorFlow is first imported. The spec holds `impl`, `model`,
`variant`, `mode`, `size` ([batch, time, depth, units]), `repeats` and `warmup`.

The last stdout line is `RESULT <json>`: `status` is "ok" (with timings and memory) or
"skipped" (with a `note`). Anything else (a crash) is the driver's to report.
"""

import importlib
import json
import resource
import statistics
import sys
import time

from impls import IMPLEMENTATIONS, Size, Unavailable

MB = 2**20


def current_rss_mb():
    """Resident set size now (Linux: /proc; elsewhere the peak is the best we have)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / MB
    except OSError:
        return peak_rss_mb()


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux (bytes on macOS; this harness targets Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_ms(call):
    start = time.perf_counter()
    call()  # every callable forces its results to NumPy before returning
    return (time.perf_counter() - start) * 1e3


def measure(spec):
    implementation = IMPLEMENTATIONS[spec["impl"]]
    for module in implementation.modules_for(spec["variant"]):
        try:
            importlib.import_module(module)
        except ImportError as error:
            return {"status": "skipped", "note": f"cannot import {module}: {error}"}
    rss_after_import = current_rss_mb()
    try:
        calls = implementation.build(spec["model"], Size(*spec["size"]), spec["variant"])
    except Unavailable as reason:
        return {"status": "skipped", "note": str(reason)}
    call = calls.forward if spec["mode"] == "forward" else calls.fwd_bwd

    first_call_ms = timed_ms(call)  # tracing and (XLA) compilation happen here
    for _ in range(spec["warmup"]):
        call()
    rss_before_timing = current_rss_mb()
    times_ms = [timed_ms(call) for _ in range(spec["repeats"])]
    peak = max(peak_rss_mb(), current_rss_mb())  # the two count pages slightly differently
    return {
        "status": "ok",
        "median_ms": statistics.median(times_ms),
        "times_ms": times_ms,
        "first_call_ms": first_call_ms,
        "rss_after_import_mb": rss_after_import,
        "rss_before_timing_mb": rss_before_timing,
        "peak_rss_mb": peak,
        "peak_delta_mb": peak - rss_after_import,
    }


if __name__ == "__main__":
    print("RESULT " + json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
