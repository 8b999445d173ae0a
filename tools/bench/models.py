"""The reference systems as PyTorch models, with Keras semantics where they differ from
PyTorch's defaults, so that graphrun can be checked (parity.py) and timed (bench_torch.py)
against them:

- BatchNormalization: momentum 0.99, epsilon 1e-3; training normalises with the batch
  mean and biased variance; the moving variance takes the unbiased batch variance for
  [N, C, H, W] inputs (TensorFlow's fused kernel) and the biased one for [N, D] inputs
  (the non-fused path), as plugins/norm/batch_norm.hpp documents;
- RMSprop and Adam as TensorFlow's ApplyRMSProp / ApplyAdam (epsilon inside the square
  root for RMSprop; Adam's bias correction folded into the learning rate);
- flatten runs over [C, H, W] (graphrun's and PyTorch's order).

Each model maps graphrun's parameter names ("<tower>/<layer>/<param>", "<node>/<param>")
to its tensors, so weights move between the two through safetensors files. A dense
kernel is [units, in] as torch's Linear.weight, a conv kernel [out, in, kh, kw].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class KerasBatchNorm(nn.Module):
    def __init__(self, channels, momentum=0.99, epsilon=1e-3):
        super().__init__()
        self.momentum, self.epsilon = momentum, epsilon
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, False, 0.0,
                                self.epsilon)
        if x.dim() == 4:  # torch's running update uses the unbiased variance, as the fused kernel does
            return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, True,
                                1.0 - self.momentum, self.epsilon)
        y = F.batch_norm(x, None, None, self.gamma, self.beta, True, 0.0, self.epsilon)
        with torch.no_grad():
            var, mean = torch.var_mean(x, 0, unbiased=False)
            self.moving_mean.mul_(self.momentum).add_(mean, alpha=1.0 - self.momentum)
            self.moving_variance.mul_(self.momentum).add_(var, alpha=1.0 - self.momentum)
        return y

    def names(self, prefix):
        return {f"{prefix}/gamma": self.gamma, f"{prefix}/beta": self.beta,
                f"{prefix}/moving_mean": self.moving_mean, f"{prefix}/moving_variance": self.moving_variance}


def layer_names(layer, prefix):
    return {f"{prefix}/kernel": layer.weight, f"{prefix}/bias": layer.bias}


def dropout(x, rate, training):
    return F.dropout(x, rate, training) if rate > 0 and training else x


def contrastive_loss(p, y, margin=1.0):
    """mean((1 - y) p^2 + y max(margin - p, 0)^2): R3 (y = 1 same, p a similarity) and R4
    (y = 1 different, p a distance) both write it so."""
    return torch.mean((1 - y) * p * p + y * torch.clamp(margin - p, min=0) ** 2)


def binary_crossentropy(p, y):
    eps = 1e-7  # Keras clips p to [eps, 1 - eps]
    p = torch.clamp(p, eps, 1 - eps)
    return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))


class R3SiameseMLP(nn.Module):
    """graphs/r3_siamese_mlp.yaml: shared Dense 128 relu x3 (dropout 0.1 between), subtract,
    dropout, Dense 16 relu, Dense 1 sigmoid."""

    def __init__(self, dropout_rate=0.1):
        super().__init__()
        self.rate = dropout_rate
        self.d1, self.d2, self.d3 = nn.Linear(784, 128), nn.Linear(128, 128), nn.Linear(128, 128)
        self.hidden, self.p = nn.Linear(128, 16), nn.Linear(16, 1)

    def tower(self, x):
        x = dropout(F.relu(self.d1(x)), self.rate, self.training)
        x = dropout(F.relu(self.d2(x)), self.rate, self.training)
        return F.relu(self.d3(x))

    def forward(self, left, right):
        d = dropout(self.tower(left) - self.tower(right), self.rate, self.training)
        return torch.sigmoid(self.p(F.relu(self.hidden(d))))

    def names(self):
        n = {}
        for i, layer in enumerate((self.d1, self.d2, self.d3), 1):
            n.update(layer_names(layer, f"encoder/dense_{i}"))
        n.update(layer_names(self.hidden, "hidden"))
        n.update(layer_names(self.p, "p"))
        return n


class R4Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn1 = KerasBatchNorm(1)
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 5), nn.Conv2d(4, 16, 5)
        self.bn2 = KerasBatchNorm(256)
        self.dense = nn.Linear(256, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.conv1(self.bn1(x))), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        return torch.tanh(self.dense(self.bn2(torch.flatten(x, 1))))


class R4ConvSiamese(nn.Module):
    """graphs/r4_conv_siamese.yaml: shared tower BatchNorm, Conv 4@5x5 tanh, AvgPool 2,
    Conv 16@5x5 tanh, AvgPool 2, Flatten, BatchNorm, Dense 10 tanh; Euclidean distance,
    BatchNorm, Dense 1 sigmoid. The left image goes through the tower first, as in Keras
    (which matters for the order of the shared batch-norm moving-average updates);
    right_first swaps that order."""

    def __init__(self):
        super().__init__()
        self.right_first = False
        self.tower = R4Tower()
        self.norm = KerasBatchNorm(1)
        self.p = nn.Linear(1, 1)

    def forward(self, left, right):
        if self.right_first:
            b = self.tower(right)
            a = self.tower(left)
        else:
            a = self.tower(left)
            b = self.tower(right)
        d = torch.sqrt(torch.clamp(torch.sum((a - b) ** 2, dim=1, keepdim=True), min=1e-7))
        return torch.sigmoid(self.p(self.norm(d)))

    def names(self):
        t = self.tower
        n = {}
        n.update(t.bn1.names("tower/batch_norm_1"))
        n.update(layer_names(t.conv1, "tower/conv2d_1"))
        n.update(layer_names(t.conv2, "tower/conv2d_2"))
        n.update(t.bn2.names("tower/batch_norm_2"))
        n.update(layer_names(t.dense, "tower/dense_1"))
        n.update(self.norm.names("norm"))
        n.update(layer_names(self.p, "p"))
        return n


class R1Classifier(nn.Module):
    """graphs/r1_digit_classifier.yaml: Conv 32@3x3, BatchNorm, relu, MaxPool 2, Conv 64@3x3,
    BatchNorm, relu, MaxPool 2, Flatten, Dropout 0.5, Dense 10 softmax. forward() returns the
    logits (the loss takes log-softmax of them, as Keras does for a softmax output)."""

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        self.rate = dropout_rate
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.norm1, self.norm2 = KerasBatchNorm(32), KerasBatchNorm(64)
        self.probs = nn.Linear(1600, 10)

    def forward(self, image):
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(image))), 2)
        x = F.max_pool2d(F.relu(self.norm2(self.conv2(x))), 2)
        return self.probs(dropout(torch.flatten(x, 1), self.rate, self.training))

    def names(self, prefix=""):
        return {**layer_names(self.conv1, prefix + "conv1"), **layer_names(self.conv2, prefix + "conv2"),
                **self.norm1.names(prefix + "norm1"), **self.norm2.names(prefix + "norm2"),
                **layer_names(self.probs, prefix + "probs")}


class R1DenseMatcher(nn.Module):
    """graphs/r1_dense_matcher.yaml: the frozen classifier on both images (evaluation mode,
    softmax outputs), concatenated, Dense 32 relu, Dense 1 sigmoid."""

    def __init__(self):
        super().__init__()
        self.classifier = R1Classifier()
        for prm in self.classifier.parameters():
            prm.requires_grad_(False)
        self.hidden, self.p = nn.Linear(20, 32), nn.Linear(32, 1)

    def train(self, mode=True):
        super().train(mode)
        self.classifier.eval()  # frozen: always inference behaviour (no dropout)
        return self

    def forward(self, left, right):
        a = F.softmax(self.classifier(left), dim=1)
        b = F.softmax(self.classifier(right), dim=1)
        return torch.sigmoid(self.p(F.relu(self.hidden(torch.cat([a, b], dim=1)))))

    def names(self):
        return {**self.classifier.names("classifier/"), **layer_names(self.hidden, "hidden"),
                **layer_names(self.p, "p")}


class KochTower(nn.Module):
    """The tower of graphs/r2_koch_omniglot.yaml (Koch et al. 2015): Conv 64@10x10 relu, BN,
    MaxPool 2, Conv 128@7x7 relu, BN, MaxPool, Conv 128@4x4 relu, BN, MaxPool, Conv 256@4x4
    relu, BN, Flatten (9216), Dense 4096 sigmoid."""

    def __init__(self, channels=1):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(channels, 64, 10), nn.Conv2d(64, 128, 7), nn.Conv2d(128, 128, 4),
                                    nn.Conv2d(128, 256, 4)])
        self.norms = nn.ModuleList([KerasBatchNorm(c) for c in (64, 128, 128, 256)])
        self.dense = nn.Linear(9216, 4096)

    def forward(self, x):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = norm(F.relu(conv(x)))
            if i < 3:
                x = F.max_pool2d(x, 2)
        return torch.sigmoid(self.dense(torch.flatten(x, 1)))


class KochSiamese(nn.Module):
    """graphs/r2_koch_omniglot.yaml: the shared Koch tower on both images (left first, each
    use normalised by its own batch statistics, as Keras and graphrun do), |a - b|, Dropout
    0.3, Dense 1 sigmoid. l2_loss() is the graph's kernel L2 (2e-4 on the convolutions, 2e-3
    on the 4096 dense layer), added to the loss as Keras does."""

    L2 = {"conv": 2e-4, "dense": 2e-3}

    def __init__(self, channels=1, dropout_rate=0.3):
        super().__init__()
        self.rate = dropout_rate
        self.tower = KochTower(channels)
        self.p = nn.Linear(4096, 1)

    def forward(self, left, right):
        a = self.tower(left)
        b = self.tower(right)
        return torch.sigmoid(self.p(dropout(torch.abs(a - b), self.rate, self.training)))

    def l2_loss(self):
        reg = sum(torch.sum(c.weight * c.weight) for c in self.tower.convs) * self.L2["conv"]
        return reg + self.L2["dense"] * torch.sum(self.tower.dense.weight * self.tower.dense.weight)

    def names(self):
        t = self.tower
        n = {}
        for i, (conv, norm) in enumerate(zip(t.convs, t.norms), 1):
            n.update(layer_names(conv, f"koch/conv2d_{i}"))
            n.update(norm.names(f"koch/batch_norm_{i}"))
        n.update(layer_names(t.dense, "koch/dense_1"))
        n.update(layer_names(self.p, "p"))
        return n


class KerasRMSprop:
    """TensorFlow's ApplyRMSProp without momentum: ms = rho ms + (1 - rho) g^2;
    w -= lr g / sqrt(ms + eps) (epsilon inside the root, unlike torch.optim.RMSprop)."""

    def __init__(self, params, lr=1e-3, rho=0.9, eps=1e-7):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.rho, self.eps = lr, rho, eps
        self.ms = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.ms, self.rho)
        torch._foreach_addcmul_(self.ms, grads, grads, value=1.0 - self.rho)
        denom = torch._foreach_add(self.ms, self.eps)
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(self.params, grads, denom, value=-self.lr)


class KerasAdam:
    """TensorFlow's ApplyAdam: m, v moments; w -= lr_t m / (sqrt(v) + eps) with
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)."""

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, eps=1e-7):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.b1, self.b2, self.eps = lr, beta_1, beta_2, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        lr_t = self.lr * (1 - self.b2 ** self.t) ** 0.5 / (1 - self.b1 ** self.t)
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.m, self.b1)
        torch._foreach_add_(self.m, grads, alpha=1 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.b2)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-lr_t)


def load_weights(model, tensors, strict=True):
    """Copies graphrun-named tensors into the model; with strict, every model tensor must be there."""
    names = model.names()
    with torch.no_grad():
        for name, t in names.items():
            if name not in tensors:
                if strict:
                    raise KeyError(f"the weights have no tensor '{name}'")
                continue
            src = torch.from_numpy(tensors[name])
            if tuple(src.shape) != tuple(t.shape):
                raise ValueError(f"tensor '{name}' has shape {tuple(src.shape)}, the model needs {tuple(t.shape)}")
            t.copy_(src)


# The workloads: which model, loss and optimizer mirror which graph, and how a batch feeds it.
# "pairs" models take (left, right) and a float label [N, 1]; "images" models take the
# image and the class index.
WORKLOADS = {
    "r3": dict(graph="graphs/r3_siamese_mlp.yaml", make=lambda: R3SiameseMLP(0.1), shape=(784,), feed="pairs",
               loss=contrastive_loss, optimizer=lambda p: KerasRMSprop(p, lr=1e-3)),
    "r4": dict(graph="graphs/r4_conv_siamese.yaml", make=R4ConvSiamese, shape=(1, 28, 28), feed="pairs",
               loss=contrastive_loss, optimizer=lambda p: KerasRMSprop(p, lr=1e-3)),
    "r1_classifier": dict(graph="graphs/r1_digit_classifier.yaml", make=R1Classifier, shape=(1, 28, 28),
                          feed="images", loss=lambda logits, y: F.cross_entropy(logits, y),
                          optimizer=lambda p: KerasAdam(p, lr=1e-3)),
    "r1_matcher": dict(graph="graphs/r1_dense_matcher.yaml", make=R1DenseMatcher, shape=(1, 28, 28), feed="pairs",
                       loss=binary_crossentropy, optimizer=lambda p: KerasAdam(p, lr=1e-3)),
    # Images from the files graphrun_bench prepare writes (the graph's Omniglot pairs).
    "koch": dict(graph="graphs/r2_koch_omniglot.yaml", make=KochSiamese, shape=(1, 105, 105), feed="pairs",
                 loss=binary_crossentropy, regularizer=lambda m: m.l2_loss(), optimizer=lambda p: KerasAdam(p, lr=5e-5)),
}
