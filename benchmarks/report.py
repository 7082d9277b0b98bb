"""Ratios, tables and the target check for bench_rnn.py's results.

Every result is a dict with `impl`, `model`, `family` ("lstm"/"gru"), `variant`,
`mode`, `size` ("BxTxIxH"), `status`, and when ok `median_ms`, `first_call_ms`,
`peak_rss_mb`, `peak_delta_mb`. `add_ratios` adds `vs_limit` and `vs_keras_best`.
"""

import collections

IMPL_ORDER = ("tfrnn", "tf1", "keras", "torch", "matmul")
MODES = {"forward": "fwd", "fwd_bwd": "fwd+bwd"}

# The targets for tfrnn (faster of its tf.function and XLA variants).
LIMIT_TARGETS = {("forward", False): 1.2, ("forward", True): 1.5, ("fwd_bwd", False): 1.3, ("fwd_bwd", True): 2.0}
MEMORY_TOLERANCE = 1.10  # peak RSS within 10% of Keras' LSTM/GRU, same mode and variant


def label(result):
    names = {
        "tfrnn": f"tfrnn.dynamic_rnn, tfrnn.{result['model']}",
        "tf1": f"TF1 compat.v1 dynamic_rnn, {result['model']}",
        "keras": f"keras.layers.{result['model']}",
        "torch": f"torch.nn.{result['model']}",
        "matmul": "matmul-only limit",
    }
    return names[result["impl"]]


def _ok(results):
    return [r for r in results if r["status"] == "ok"]


def _best(results, **where):
    """The fastest ok result matching every `key=value` in `where`, or None."""
    matches = [r for r in _ok(results) if all(r[k] == v for k, v in where.items())]
    return min(matches, key=lambda r: r["median_ms"], default=None)


def add_ratios(results):
    """Set `vs_limit` and `vs_keras_best`: ratios of medians within family, size and mode."""
    for result in _ok(results):
        same = dict(family=result["family"], size=result["size"], mode=result["mode"])
        for key, impl in (("vs_limit", "matmul"), ("vs_keras_best", "keras")):
            best = _best(results, impl=impl, **same)
            result[key] = result["median_ms"] / best["median_ms"] if best else None
    return results


def _ms(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(value):
    return "–" if value is None else f"{value:.2f}"


def _mode_cells(result):
    if result is None:
        return ["", "", ""]
    if result["status"] != "ok":
        return [result["status"], "", ""]
    return [_ms(result["median_ms"]), _ratio(result["vs_limit"]), _ratio(result["vs_keras_best"])]


def _memory(result):
    if result is None or result["status"] != "ok":
        return ""
    return f"{result['peak_rss_mb']:.0f} (+{result['peak_delta_mb']:.0f})"


def _first_calls(by_mode):
    seconds = [f"{r['first_call_ms'] / 1e3:.2f}" if r and r["status"] == "ok" else "–" for r in by_mode]
    return " / ".join(seconds)


HEADER = (
    "| implementation | variant | fwd ms | ×limit | ×keras | fwd+bwd ms | ×limit | ×keras "
    "| 1st call s fwd / fwd+bwd | peak MB fwd (Δ) | peak MB fwd+bwd (Δ) |"
)


def table(results, family, size):
    """One markdown table: every implementation of one family at one size, both modes."""
    rows = collections.defaultdict(dict)  # (impl, model, variant) -> mode -> result
    for r in results:
        if r["family"] == family and r["size"] == size:
            rows[(r["impl"], r["model"], r["variant"])][r["mode"]] = r
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for key in sorted(rows, key=lambda k: (IMPL_ORDER.index(k[0]), k[1], k[2])):
        by_mode = [rows[key].get(mode) for mode in MODES]
        any_result = next(r for r in by_mode if r)
        cells = [label(any_result), key[2], *_mode_cells(by_mode[0]), *_mode_cells(by_mode[1])]
        cells += [_first_calls(by_mode), _memory(by_mode[0]), _memory(by_mode[1])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(results):
    """All tables, one per family and size, then the notes of skipped or failed entries."""
    sections = []
    for family in dict.fromkeys(r["family"] for r in results):
        for size in dict.fromkeys(r["size"] for r in results):
            if any(r["family"] == family and r["size"] == size for r in results):
                batch, time, depth, units = size.split("x")
                title = f"### {family.upper()}, batch {batch} × time {time} × input {depth} → hidden {units}"
                sections.append(f"{title}\n\n{table(results, family, size)}")
    notes = {(r["impl"], r["status"], r.get("note", "")) for r in results if r["status"] != "ok"}
    if notes:
        sections.append("\n".join(f"- {impl} {status}: {note}" for impl, status, note in sorted(notes)))
    return "\n\n".join(sections)


def check_targets(results):
    """The issue's targets, per tfrnn model, size and mode: a list of dicts with verdicts."""
    checks = []
    for key in dict.fromkeys((r["model"], r["size"], r["mode"]) for r in _ok(results) if r["impl"] == "tfrnn"):
        model, size, mode = key
        ours = _best(results, impl="tfrnn", model=model, size=size, mode=mode)
        same = dict(family=ours["family"], size=size, mode=mode)
        keras_same_variant = _best(results, impl="keras", variant=ours["variant"], **same)
        tf1 = _best(results, impl="tf1", model=model, size=size, mode=mode)
        limit_target = LIMIT_TARGETS[(mode, size.startswith("1x"))]
        checks.append({
            "model": model, "size": size, "mode": mode, "variant": ours["variant"],
            "vs_limit": ours["vs_limit"], "limit_target": limit_target,
            "vs_keras_best": ours["vs_keras_best"],
            "vs_tf1_best": ours["median_ms"] / tf1["median_ms"] if tf1 else None,
            "peak_vs_keras": ours["peak_rss_mb"] / keras_same_variant["peak_rss_mb"] if keras_same_variant else None,
        })
    return checks


def verdict(value, bound):
    if value is None:
        return "– (not measured)"
    return f"{value:.2f} {'ok' if value <= bound else 'MISSED'}"


def targets_text(checks):
    if not checks:
        return "Targets: nothing to check (no tfrnn results)."
    lines = [
        "| tfrnn cell | size | mode | faster variant | ×limit (target) | ×keras best ≤ 1 | ×TF1 best ≤ 1 | peak ×keras ≤ 1.1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c['model']} | {c['size']} | {MODES[c['mode']]} | {c['variant']} "
            f"| {verdict(c['vs_limit'], c['limit_target'])} (≤ {c['limit_target']}) "
            f"| {verdict(c['vs_keras_best'], 1.0)} | {verdict(c['vs_tf1_best'], 1.0)} "
            f"| {verdict(c['peak_vs_keras'], MEMORY_TOLERANCE)} |"
        )
    return "\n".join(lines)
