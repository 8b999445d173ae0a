"""The benchmark's markdown report: the primitives graphrun ran, the table of workloads
against PyTorch and, for single-step workloads, where the time of a step goes."""
import os


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def group_primitives(prims):
    """One line per (pass, implementation) with the nodes that run it; 'ref' flagged."""
    groups = {}
    for p in prims:
        groups.setdefault((p["pass"], p["impl"]), []).append(p["node"])
    return [f"{what:40s} {impl:22s}{' <- REFERENCE KERNEL' if impl.startswith('ref') else ''}  ({', '.join(nodes)})"
            for (what, impl), nodes in groups.items()]


def print_report(result, sides, out, root):
    p = print
    p()
    p("## oneDNN primitives of graphrun (full-batch plan): pass, implementation (nodes)")
    for n, prims in result["implementations"].items():
        refs = [f"{q['node']} {q['pass']}" for q in prims if q["ref"]]
        p(f"- {n}: {len(prims)} primitives, {len(refs)} on a reference kernel" + (": " + "; ".join(refs) if refs else ""))
        for line in group_primitives(prims):
            p(f"    {line}")
    p()
    p(f"Date: {result['date']}  ")
    p(f"Machine: {result['host']}, {result['cpu']}, {result['cores']} cores, Linux {result['kernel']}; "
      f"load average before/after {result['load_average_before'][0]:.2f}/{result['load_average_after'][0]:.2f}  ")
    p(f"Command: `{result['command']}`  ")
    p(f"Threads: {result['threads']} (both sides); repetitions: {result['repeats']} (medians); "
      f"steps scale: {result['steps_scale']}  ")
    p(f"PyTorch {result['torch']}, BLAS mapped: {', '.join(result['torch_blas'] or ['?'])}; "
      f"with jemalloc: {result['torch_allocator_check'] or 'not run'}  ")
    p()
    has_plain = "torch_plain" in sides
    head = ["workload", "steps x batch", "graphrun", "PyTorch + jemalloc"] + (["PyTorch plain"] if has_plain else []) + \
        ["graphrun / PyTorch time", "peak RSS MB graphrun / PyTorch" + (" / plain" if has_plain else "")]
    p("| " + " | ".join(head) + " |")
    p("|" + "|".join(["---"] * len(head)) + "|")
    for n, row in result["summary"].items():
        g = row["graphrun"]
        cells = [row["description"], f"{g['steps']} x {g['batch']}"]
        for side in sides:
            s = row[side]
            cells.append(f"{fmt(s['seconds'])} s" if row["mode"] == "train"
                         else f"{fmt(s['pairs_per_second'])} pairs/s")
        cells.append(f"{row['time_ratio']:.2f}")
        cells.append(" / ".join(f"{row[s]['peak_rss_mb']:.0f}" for s in sides))
        p("| " + " | ".join(cells) + " |")
    p()
    p("Times are the medians of the steps alone (no file reading or plan creation; batch assembly and the "
      "optimizer included); a time ratio below 1 means graphrun is faster than PyTorch + jemalloc.")
    for n, row in result["summary"].items():
        key = "mean_loss" if row["mode"] == "train" else "mean_output"
        vals = {s: row[s][key] for s in sides}
        p(f"- {n}: {key} " + ", ".join(f"{s} {v:.5g}" for s, v in vals.items() if v is not None))
    print_step_breakdown(result, sides)
    p()
    rel = os.path.relpath(out, root)
    p(f"raw results: {out if rel.startswith('..') else rel}")


def print_step_breakdown(result, sides):
    """Per-step figures of the `koch` workload: time, GFLOP/s, the share in convolutions,
    and graphrun's convolutions against oneDNN's alone (graphrun_conv_bench)."""
    p = print
    for n, b in result.get("step_breakdown", {}).items():
        row = result["summary"][n]
        gflop = row["gflop_per_step"]
        p()
        p(f"### {row['description']}: one step of {row['graphrun']['batch']} pairs, {gflop:.1f} GFLOP")
        p()
        p("| side | s per step (median) | GFLOP/s | convolutions ms per step | share of the step |")
        p("|---|---|---|---|---|")
        for side in sides:
            s = row[side]
            if side == "graphrun":
                conv, step = b["graphrun"]["ms_per_step_by_kind"].get("convolution", 0.0), b["graphrun"]["step_seconds"]
            elif side == "torch_jemalloc" or (side == "torch_plain" and "torch_jemalloc" not in sides):
                conv, step = b["torch"]["conv_ms_per_step"], b["torch"]["step_seconds"]
            else:
                conv, step = None, None
            share = f"{100 * conv / (1000 * step):.0f}% (of {step:.3f} s, profiled run)" if conv is not None else "-"
            p(f"| {side} | {s['seconds_per_step']:.3f} | {s['gflops']:.0f} | {fmt(conv, 4) if conv is not None else '-'} | {share} |")
        kinds = b["graphrun"]["ms_per_step_by_kind"]
        p()
        p("graphrun, oneDNN primitives per step (ms, ONEDNN_VERBOSE): " +
          ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
        t = b["torch"]
        p(f"PyTorch (torch.profiler, ms per step): convolutions {t['conv_ms_per_step']:.1f} (forward "
          f"{t['conv_forward_ms_per_step']:.1f}, backward {t['conv_backward_ms_per_step']:.1f}), dense "
          f"{t['dense_ms_per_step']:.1f}; largest self times: " +
          ", ".join(f"{k} {v:.1f}" for k, v in t["top_self_ms_per_step"][:6]))
        ceiling = b.get("conv_ceiling")
        if not ceiling:
            continue
        lim = {(c["layer"], c["pass"]): c for c in ceiling["passes"]}
        p()
        p(f"Convolutions: graphrun's step (ONEDNN_VERBOSE) against oneDNN alone with format_tag::any "
          f"(graphrun_conv_bench, {ceiling.get('precision', 'f32')}, batch {ceiling['batch']}, median of {ceiling['repeats']})")
        p()
        p("| layer, pass | graphrun ms | implementation | alone ms | implementation | alone / graphrun |")
        p("|---|---|---|---|---|---|")
        g_total = c_total = 0.0
        for key, c in sorted(b["graphrun"]["convolutions"].items()):
            alone = lim.get((c["layer"], c["pass"]))
            g_total += c["ms"]
            if alone:
                c_total += alone["median_ms"]
            p(f"| {key} | {c['ms']:.1f} | {c['impl']} | {alone['median_ms']:.1f} | {alone['impl']} | "
              f"{alone['median_ms'] / c['ms']:.2f} |" if alone else f"| {key} | {c['ms']:.1f} | {c['impl']} | - | - | - |")
        if g_total > 0 and c_total > 0:
            p(f"| all | {g_total:.1f} | | {c_total:.1f} | | **{c_total / g_total:.2f}** |")
