"""One training step of a reference model in PyTorch, from weights and a batch that graphrun
wrote, for the parity tests (tests/parity/):

  parity.py --model r3|r4 --weights initial.safetensors --batch batch.safetensors --out torch.safetensors

The batch file holds "left", "right" and "label" [N, 1]. Writes "output" (the forward
output [N, 1], training mode), "loss", "grad/<name>" (the gradient of every trainable
parameter), "param/<name>" (every parameter and batch-norm statistic after the step) and
"update/<name>" (after minus before), named as graphrun names them. --right-first (r4) runs the shared tower on the right image
first, which changes the order of its batch-norm moving-average updates. --dtype float64 runs the same step in double precision, a
third opinion when the two float32 runs disagree.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_safetensors, write_safetensors  # noqa: E402
import models  # noqa: E402

MODELS = {
    "r3": lambda: models.R3SiameseMLP(dropout_rate=0.0),  # the parity graph has no dropout
    "r4": models.R4ConvSiamese,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--right-first", action="store_true",
                    help="r4: the right image through the shared tower first (a diagnostic of update order)")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)

    model = MODELS[args.model]().to(dtype)
    if args.right_first:
        model.right_first = True
    weights, _ = read_safetensors(args.weights)
    models.load_weights(model, {k: v.astype(np.float64) if dtype == torch.float64 else v for k, v in weights.items()})
    model.train()
    batch, _ = read_safetensors(args.batch)
    left, right, label = (torch.from_numpy(batch[k]).to(dtype) for k in ("left", "right", "label"))

    names = model.names()
    optimizer = models.KerasRMSprop(model.parameters(), lr=args.lr)
    optimizer.zero_grad()
    output = model(left, right)
    loss = models.contrastive_loss(output, label)
    loss.backward()
    result = {"output": output.detach().numpy(), "loss": loss.detach().reshape(()).numpy()}
    for name, t in names.items():
        if isinstance(t, torch.nn.Parameter) and t.grad is not None:
            result["grad/" + name] = t.grad.numpy().copy()
    optimizer.step()
    for name, t in names.items():
        after = t.detach().numpy().astype(np.float32)
        result["param/" + name] = after
        result["update/" + name] = after - weights[name]  # differenced in float32, as graphrun does
    write_safetensors(args.out, result, {"torch": torch.__version__, "dtype": args.dtype})


if __name__ == "__main__":
    main()
