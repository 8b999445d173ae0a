"""The PyTorch side of tools/bench/bench.py: times one workload in this process and prints
one JSON object. It reads what `graphrun_bench prepare` wrote (initial weights, the train
and test pairs and which images they index), so both sides train the same model from the
same weights on the same pairs; only the shuffle of each epoch is drawn independently.

  bench_torch.py --workload r3 --mode train --prep DIR --data data/mnist --threads 2 [--steps N] [--profile]
  bench_torch.py --workload r4 --mode infer --prep DIR --data data/mnist --threads 2 [--batch B]

Timed: batch assembly (indexing the image tensor), forward, loss, backward and the
optimizer for training; batch assembly and forward (inference mode) for inference. Not
timed: importing torch, reading files, building the model.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_mnist, mapped_libraries, peak_rss_mb, read_pairs, read_safetensors  # noqa: E402
import models  # noqa: E402


def rss_now_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def load_split(prep, info, data, split_name, shape):
    s = info[split_name]
    if "images_file" in s:  # image trees and pair files: the bytes graphrun decoded
        if tuple(s["shape"][1:]) != tuple(shape):
            raise ValueError(f"{prep}: {split_name} images are {s['shape'][1:]}, the model takes {shape}")
        images = np.fromfile(os.path.join(prep, s["images_file"]), dtype=np.uint8).reshape(s["shape"])
        images = images.astype(np.float32) / np.float32(255.0)
    else:
        images, _ = load_mnist(data, s["split"])
        images = np.ascontiguousarray(images[s["begin"]:s["end"]]).reshape((-1,) + tuple(shape))
    a, b, label = read_pairs(os.path.join(prep, f"{split_name}_pairs.bin"))
    if len(a) != s["pairs"]:
        raise ValueError(f"{prep}: {split_name}_pairs.bin holds {len(a)} pairs, prepare.json says {s['pairs']}")
    return torch.from_numpy(images), torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(label)


def conv_profile(prof, steps):
    """Milliseconds per step in convolutions (forward aten::convolution and
    aten::convolution_backward, each with everything it calls: oneDNN's kernels and
    PyTorch's reorders around them) and in the dense layers, from torch.profiler."""
    ka = prof.key_averages()
    total = {e.key: e.cpu_time_total / 1000.0 for e in ka}
    conv = total.get("aten::convolution", 0.0) + total.get("aten::convolution_backward", 0.0)
    dense = total.get("aten::linear", 0.0) + total.get("AddmmBackward0", 0.0)
    top = sorted(ka, key=lambda e: -e.self_cpu_time_total)[:12]
    return {"conv_ms_per_step": conv / steps, "conv_forward_ms_per_step": total.get("aten::convolution", 0.0) / steps,
            "conv_backward_ms_per_step": total.get("aten::convolution_backward", 0.0) / steps,
            "dense_ms_per_step": dense / steps,
            "top_self_ms_per_step": [[e.key, e.self_cpu_time_total / 1000.0 / steps] for e in top]}


def run_train(wl, model, images, a, b, label, batch, steps, seed, profile=False):
    model.train()
    optimizer = wl["optimizer"](model.parameters())
    data_loss = wl["loss"]
    regularizer = wl.get("regularizer")
    pairs_feed = wl["feed"] == "pairs"
    last_data_loss = [0.0]

    def loss_fn(out, y):  # the data loss is reported, the regularised one differentiated
        loss = data_loss(out, y)
        last_data_loss[0] = loss
        return loss + regularizer(model) if regularizer else loss

    def forward(idx):
        if pairs_feed:
            out = model(images.index_select(0, a.index_select(0, idx)), images.index_select(0, b.index_select(0, idx)))
            return loss_fn(out, label.index_select(0, idx).unsqueeze(1))
        out = model(images.index_select(0, a.index_select(0, idx)))
        return loss_fn(out, label.index_select(0, idx).long())

    # One untimed forward and backward, as graphrun runs every primitive once when it makes
    # a plan; the weights and batch-norm statistics are put back.
    saved = copy.deepcopy(model.state_dict())
    forward(torch.arange(min(batch, len(a)))).backward()
    model.load_state_dict(saved)
    optimizer.zero_grad()
    n = len(a)
    per_epoch = (n + batch - 1) // batch
    rng = np.random.default_rng(seed)
    loss_sum, examples = 0.0, 0
    step_seconds = []
    prof = None
    if profile:
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
        prof.__enter__()
    start = last = time.perf_counter()
    order = None
    for i in range(steps):
        k = i % per_epoch
        if k == 0:
            order = torch.from_numpy(rng.permutation(n))
        idx = order[k * batch:(k + 1) * batch]
        optimizer.zero_grad()
        loss = forward(idx)
        loss.backward()
        optimizer.step()
        loss_sum += last_data_loss[0].item() * len(idx)
        examples += len(idx)
        if steps <= 1000:
            now = time.perf_counter()
            step_seconds.append(now - last)
            last = now
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "examples": examples, "mean_loss": loss_sum / examples}
    if step_seconds:
        result["step_seconds"] = step_seconds
    if prof is not None:
        prof.__exit__(None, None, None)
        result["profile"] = conv_profile(prof, steps)
    return result


def run_infer(model, images, a, b, batch):
    model.eval()
    n = len(a)
    total = 0.0
    with torch.inference_mode():  # untimed warm-up, as for training
        model(images.index_select(0, a[:batch]), images.index_select(0, b[:batch]))
    start = time.perf_counter()
    with torch.inference_mode():
        for k in range(0, n, batch):
            out = model(images.index_select(0, a[k:k + batch]), images.index_select(0, b[k:k + batch]))
            total += float(out.sum())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "examples": n, "pairs_per_second": n / seconds, "mean_output": total / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=sorted(models.WORKLOADS))
    ap.add_argument("--mode", required=True, choices=["train", "infer"])
    ap.add_argument("--prep", required=True, help="folder written by graphrun_bench prepare")
    ap.add_argument("--data", required=True, help="MNIST folder (IDX files)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="training steps (default: one epoch)")
    ap.add_argument("--batch", type=int, default=0, help="batch size (default: the graph's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true",
                    help="training: torch.profiler over the timed steps (time in convolutions and dense layers)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    wl = models.WORKLOADS[args.workload]
    with open(os.path.join(args.prep, "prepare.json")) as f:
        info = json.load(f)
    model = wl["make"]()
    weights, _ = read_safetensors(os.path.join(args.prep, "initial.safetensors"))
    models.load_weights(model, weights)

    split = "train" if args.mode == "train" else "test"
    images, a, b, label = load_split(args.prep, info, args.data, split, wl["shape"])
    if args.mode == "train":
        batch = args.batch or info["batch_size"]
        per_epoch = (len(a) + batch - 1) // batch
        steps = args.steps or per_epoch
        result = run_train(wl, model, images, a, b, label, batch, steps, args.seed, args.profile)
    else:
        batch = args.batch or info["eval_batch_size"]
        steps = (len(a) + batch - 1) // batch
        result = run_infer(model, images, a, b, batch)

    preload = os.environ.get("LD_PRELOAD", "")
    libs = mapped_libraries()
    result.update({
        "side": "torch", "mode": args.mode, "workload": args.workload, "batch": batch, "steps": steps,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "allocator": "jemalloc" if any("jemalloc" in p for p in libs) else "glibc",
        "malloc_conf": os.environ.get("MALLOC_CONF", ""), "ld_preload": preload,
        "blas": [p for p in libs if "blas" in os.path.basename(p)],
        "libraries": libs, "mkldnn": torch.backends.mkldnn.is_available(),
        "peak_rss_mb": peak_rss_mb(), "end_rss_mb": rss_now_mb(),
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
