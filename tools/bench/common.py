"""Plain python + numpy helpers shared by the PyTorch peer: MNIST IDX files, safetensors
files (as graphrun writes them) and what the process has mapped and used."""
import gzip
import json
import os
import resource
import struct

import numpy as np


def _open(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _find(folder, stem):
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix in ("", ".gz"):
            path = os.path.join(folder, name + suffix)
            if os.path.exists(path):
                return path
    raise FileNotFoundError(f"{folder}: no {stem} file (raw or .gz)")


def read_idx(path):
    """An IDX file (big-endian header: magic, dims) as a numpy array of its element type."""
    with _open(path) as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder, split):
    """Images of a split ("train" or "test") scaled to [0, 1] as float32 [N, 28, 28], and labels."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte")).astype(np.float32)
    images /= 255.0  # in place: no second copy of the set
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return images, labels


def read_safetensors(path):
    """{name: float32 array} and the metadata of a safetensors file with F32 tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, only F32 is read")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(blob, dtype="<f4", count=(end - begin) // 4, offset=base + begin).reshape(
            entry["shape"]).copy()
    return tensors, header.get("__metadata__", {})


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} as F32 tensors (little endian), names in sorted order."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        chunks.append(a.tobytes())
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def read_pairs(path):
    """Pairs written by the graphrun bench driver: uint32 a, uint32 b, float32 label per pair."""
    rec = np.fromfile(path, dtype=np.dtype([("a", "<u4"), ("b", "<u4"), ("label", "<f4")]))
    return rec["a"].astype(np.int64), rec["b"].astype(np.int64), rec["label"].astype(np.float32)


def mapped_libraries(patterns=("blas", "lapack", "jemalloc", "tcmalloc", "gomp", "omp", "dnnl", "mkl")):
    """Shared libraries of this process whose file name contains one of the patterns."""
    found = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                base = os.path.basename(parts[5])
                if ".so" in base and any(p in base for p in patterns):
                    found.add(os.path.realpath(parts[5]))
    return sorted(found)


def peak_rss_mb():
    """Peak resident set size: VmHWM from /proc/self/status, else ru_maxrss (both in MB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
