#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/: small valid inputs of each reader.

Run from anywhere: python3 tests/fuzz/make_corpus.py. The other seeds of image_decode
(JPEG, TIFF, 8-bit BMP, RGBA PNG, ASCII PPM, PBM) were written once with OpenCV's
imencode, and the found_* files are what the fuzzers found (each also a case of
tests/framework/test_fuzz_spec_checkpoint.cpp or tests/data/test_fuzz_data_readers.cpp):
this script leaves them as they are.
"""
import gzip
import json
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# graph_spec: graph files of the repository (the text as written).
for path in ["graphs/r3_siamese_mlp.yaml", "graphs/r4_conv_siamese_improved.yaml", "graphs/r1_dense_matcher.yaml",
             "graphs/omniglot_prototypical.yaml", "graphs/orl_faces_siamese.yaml", "graphs/r5a_separate_towers.yaml",
             "graphs/orl_faces_triplet_two_towers.yaml",
             "tests/graphs/mnist_small.yaml"]:
    with open(os.path.join(root, path), "rb") as f:
        put("graph_spec", os.path.basename(path), f.read())
# ... and one written here: a loss_sum of two metric losses, gamma augmentation, cosine scoring.
put("graph_spec", "metric_losses_gamma.yaml", """name: metric_losses_gamma
inputs:
  image: {shape: [1, 28, 23]}
  class: {shape: [1], feed: class}
towers:
  embed:
    - {op: conv2d, filters: 8, kernel_size: 3, padding: same}
    - {op: batch_norm}
    - {op: max_pool2d}
    - {op: flatten}
nodes:
  embedding: {tower: embed, input: image}
  ms: {op: multi_similarity_loss, alpha: 2, beta: 20, base: 0.5, epsilon: 0.1, inputs: [embedding, class]}
  triplet: {op: triplet_loss, soft: true, inputs: [embedding, class]}
  loss: {op: loss_sum, factors: [1, 0.5], inputs: [ms, triplet]}
output: embedding
loss: loss
data:
  format: images
  path: faces
  pairs: {strategy: class_balanced, classes: 4, images_per_class: 3}
  augment: {rotation: 8, gamma: [0.7, 1.5], brightness: 0.1, contrast: [0.8, 1.2], mirror: true}
  train: {classes: {range: [0, 6]}}
  test: {classes: {range: [6, 8]}}
evaluation:
  embedding: embedding
  distance: cosine
train:
  optimizer: {name: adam, learning_rate: 0.001}
  epochs: 3
""")


# idx: a 2-byte little-endian length of the images file, the images file, the labels file.
def idx_images(count, rows, cols, pixels):
    return struct.pack(">IIII", 0x803, count, rows, cols) + bytes(pixels)


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_input(images, labels):
    return struct.pack("<H", len(images)) + images + labels


images = idx_images(3, 2, 2, [i * 20 for i in range(12)])
labels = idx_labels([0, 1, 2])
put("idx", "tiny_raw", idx_input(images, labels))
put("idx", "tiny_gzip", idx_input(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
put("idx", "synthetic_6x5", idx_input(idx_images(2, 6, 5, [(i * 7) % 256 for i in range(2 * 30)]), idx_labels([7, 2])))


# checkpoint: safetensors as write_checkpoint writes them (header padded to 8 bytes).
def safetensors(tensors, metadata=None):
    header, data, offset = {}, b"", 0
    for name, (shape, values) in tensors.items():
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + data


put("checkpoint", "two_tensors", safetensors({"d1/kernel": ([2, 3], [0.5, -1, 2, 0, 1e-3, 7]), "d1/bias": ([3], [0, 0.25, -0.25])},
                                             {"graph": "r3_siamese_mlp", "step": "42", "optimizer_iterations": "42"}))
put("checkpoint", "scalar_and_empty", safetensors({"s": ([], [3.0]), "e": ([0, 4], [])}))

# pair_file: against the fuzzer's fixed tree (Ann: 2 images, Bob: 3).
put("pair_file", "count", "2\nAnn 1 2\nBob 1 3\nAnn 1 Bob 2\nAnn 2 Bob 3\n")
put("pair_file", "folds", "2 1\nBob 2 3\nAnn 2 Bob 1\nAnn 1 2\nBob 3 Ann 1\n")


# image_decode: a format byte, a size byte, then the file.
def png(width, height, colour_type, bit_depth, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


put("image_decode", "grey.png", b"\x00\x33" + png(4, 3, 0, 8, [bytes([r * 60 + c * 10 for c in range(4)]) for r in range(3)]))
put("image_decode", "rgba16.png", b"\x01\x22" + png(2, 2, 6, 16, [bytes(range(r * 16, r * 16 + 16)) for r in range(2)]))
put("image_decode", "rgb.png", b"\x03\x21" + png(3, 2, 2, 8, [bytes(range(r * 9, r * 9 + 9)) for r in range(2)]))
put("image_decode", "grey.pgm", b"\x02\x11" + b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
put("image_decode", "grey16.pgm", b"\x00\x11" + b"P5\n2 2\n65535\n" + bytes(range(8)))
put("image_decode", "colour.ppm", b"\x01\x44" + b"P6\n2 2\n255\n" + bytes(range(0, 240, 20)))
put("image_decode", "ascii.pgm", b"\x00\x10" + b"P2\n2 2\n15\n0 5\n10 15\n")

row = bytes([255, 0, 0, 0, 255, 0]) + b"\0\0"
bmp_data = row * 2
bmp = (b"BM" + struct.pack("<IHHI", 54 + len(bmp_data), 0, 0, 54) +
       struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(bmp_data), 2835, 2835, 0, 0) + bmp_data)
put("image_decode", "colour.bmp", b"\x01\x11" + bmp)
