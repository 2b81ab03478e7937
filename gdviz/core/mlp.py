"""Small real networks: seeded toy datasets and a multilayer perceptron over one flat weight vector.

The ``mlp`` problem is a whole network, every weight trainable (a few hundred of them), not two
chosen weights of one (that is :mod:`gdviz.core.networks`). It does NOT fit
:class:`gdviz.core.problems.Problem`, whose loss takes a point ``(x, y)``, whose view is a
rectangle of parameter space and whose minima are points of it: a network's loss takes ``P``
weights and is looked at on a plane through weight space (:mod:`gdviz.core.plane`). So it is
registered apart, in :data:`NETWORKS` (not in the two-parameter table
:data:`gdviz.core.registry.PROBLEMS`), and a scene says which kind it holds
(:attr:`gdviz.core.scene.Scene.is_network`). Training every optimizer entry in full weight space
is :mod:`gdviz.core.weightspace`.

Data are made in numpy from ``data_seed`` (no downloads): ``moons``, ``circles``, ``xor`` and
``spirals`` (two classes, labels 0/1, 2-D inputs) and ``sine`` (1-D regression). The network is
``inputs -> hidden layers (activation) -> one linear output``: a logit for the classes (loss:
cross-entropy through ``optax.sigmoid_binary_cross_entropy``, which is log-sum-exp stable, or the
squared error of the probability), a value for regression (mean squared error).

Weights: one flat vector, layer after layer, each layer's weight matrix ``(fan_out, fan_in)``
row-major and then its biases ``(fan_out,)`` (:class:`Layer`): a row of a matrix is one unit's
incoming weights, the "filter" that filter normalization rescales. Initialisation (seeded by
``init_seed``): Glorot (Xavier) uniform, ``U(±sqrt(6 / (fan_in + fan_out)))``, for tanh and
sigmoid; He (Kaiming) normal, ``N(0, 2 / fan_in)``, for relu; biases 0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from gdviz.core.deferred import function, jax, jnp, optax
from gdviz.core.registry import ProblemSpec
from gdviz.core.specs import OptionSpec, ParamSpec, SceneError
from gdviz.core.types import Array, NDArray

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "LOSSES",
    "NETWORKS",
    "Arch",
    "Layer",
    "Network",
    "make_data",
    "make_network",
    "run_size_problem",
]

Activation = Literal["tanh", "relu", "sigmoid"]
LossName = Literal["cross_entropy", "mse"]

DATASETS: dict[str, str] = {
    "moons": "two interleaved half circles (two classes)",
    "circles": "a ring around a disc (two classes)",
    "xor": "four quadrants, opposite ones alike (two classes)",
    "spirals": "two interleaved spirals (two classes)",
    "sine": "y = sin(x) plus noise (regression, one input)",
}
"""The datasets, each made in numpy from a seed."""

REGRESSION = frozenset({"sine"})
"""Datasets whose targets are numbers rather than classes."""

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": function("jax.numpy.tanh"),
    "relu": function("jax.nn.relu"),
    "sigmoid": function("jax.nn.sigmoid"),
}
"""The hidden layers' activation, by name (JAX's, looked up when a network is traced)."""

LOSSES = ("cross_entropy", "mse")
"""``cross_entropy``: the classes' binary cross-entropy of the logit; ``mse``: squared error (of
the probability for classes, of the value for regression)."""

MIN_POINTS, MAX_POINTS = 4, 2000
MAX_DEPTH = 4
"""Hidden layers at most."""
MAX_WIDTH = 32
"""Units per hidden layer at most."""
MAX_WEIGHTS = 2000
"""Weights at most: a 2-32-32-1 net has 1,185; a few hundred is what the plane pictures are for."""

MAX_RECORDED = 10_000_000
"""``entries x (steps + 1) x weights`` at most: the recorded weights of a run (80 MB in float64;
the run holds about two copies while it finishes)."""

MAX_BATCH_INDICES = 4_000_000
"""``steps x`` the sum of the distinct batch sizes at most: the mini-batch tables of a run, which
are held whole during it (16 MB as int32; as :data:`gdviz.core.simulate.BATCH_TABLE_ELEMS`)."""

DEFAULT_HIDDEN = (8, 8)


# --- datasets -------------------------------------------------------------------------------------


def _two_classes(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _moons(n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    # scikit-learn's make_moons, shifted so that the pair is centred on the origin.
    n0, n1 = _two_classes(n)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = np.stack([1.0 - np.cos(t1), 1.0 - np.sin(t1) - 0.5], axis=1)
    x = np.concatenate([outer, inner]) - np.array([0.5, 0.25])
    return x, np.concatenate([np.zeros(n0), np.ones(n1)])


def _circles(n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    # scikit-learn's make_circles with factor 0.5: a ring of radius 1 (class 0) round a circle
    # of radius 0.5 (class 1).
    n0, n1 = _two_classes(n)
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = 0.5 * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    return np.concatenate([outer, inner]), np.concatenate([np.zeros(n0), np.ones(n1)])


def _xor(n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    # Class 1 where the two signs differ (the XOR of the signs): half the points uniform in the
    # quadrants of each class, so the classes are balanced like the other datasets'.
    n0, n1 = _two_classes(n)
    first = rng.choice([-1.0, 1.0], size=n)
    second = first * np.concatenate([np.ones(n0), -np.ones(n1)])
    x = rng.uniform(0.0, 1.0, size=(n, 2)) * np.stack([first, second], axis=1)
    return x, np.concatenate([np.zeros(n0), np.ones(n1)])


def _spirals(n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    # TensorFlow Playground's spirals: radius growing to 1 over 1.75 turns, the second spiral
    # the first turned by half a turn.
    parts, labels = [], []
    for label, m in enumerate(_two_classes(n)):
        s = np.arange(m) / max(m, 1)
        t = 1.75 * 2 * np.pi * s + label * np.pi
        parts.append(np.stack([s * np.sin(t), s * np.cos(t)], axis=1))
        labels.append(np.full(m, float(label)))
    return np.concatenate(parts), np.concatenate(labels)


def _sine(n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    return x, np.sin(x[:, 0])


_MAKERS = {
    "moons": _moons,
    "circles": _circles,
    "xor": _xor,
    "spirals": _spirals,
    "sine": _sine,
}


def make_data(dataset: str, n: int, noise: float, seed: int) -> tuple[NDArray, NDArray]:
    """``(x, y)``: ``n`` points of ``dataset`` from ``seed``, in a seeded random order.

    ``x`` is ``(n, 2)`` (``(n, 1)`` for ``sine``); ``y`` is ``(n,)``, 0/1 for the classes. The
    noise is Gaussian with std ``noise``: added to the inputs of the classes (the labels are
    those of the noise-free points, so a noisy point may sit among the other class), to the
    targets of ``sine``.
    """
    rng = np.random.default_rng([seed, 15])
    x, y = _MAKERS[dataset](n, rng)
    if dataset in REGRESSION:
        y = y + noise * rng.standard_normal(n)
    else:
        x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(n)
    x, y = np.ascontiguousarray(x[order]), np.ascontiguousarray(y[order])
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


# --- the architecture and its flat weights --------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One dense layer's place in the flat weight vector.

    Attributes:
      fan_in, fan_out: its input and output sizes.
      offset: where its weight matrix ``(fan_out, fan_in)`` starts (row-major); its biases
        ``(fan_out,)`` follow at once.
    """

    fan_in: int
    fan_out: int
    offset: int

    @property
    def weights(self) -> slice:
        return slice(self.offset, self.offset + self.fan_out * self.fan_in)

    @property
    def biases(self) -> slice:
        start = self.offset + self.fan_out * self.fan_in
        return slice(start, start + self.fan_out)

    @property
    def size(self) -> int:
        return self.fan_out * (self.fan_in + 1)


class Arch(NamedTuple):
    """What shapes a network's functions (hashable: it keys compiled programs).

    Attributes:
      sizes: ``(inputs, *hidden, 1)``.
      activation: the hidden layers' activation.
      loss: ``cross_entropy`` or ``mse``.
      classify: whether the targets are classes 0/1 (the output is a logit).
    """

    sizes: tuple[int, ...]
    activation: str
    loss: str
    classify: bool

    @property
    def layers(self) -> tuple[Layer, ...]:
        return _layers(self.sizes)

    @property
    def n_weights(self) -> int:
        return sum(layer.size for layer in self.layers)

    def unflatten(self, w: Array) -> list[tuple[Array, Array]]:
        """``[(W, b), ...]`` per layer, ``W`` ``(fan_out, fan_in)``, from the flat ``w``."""
        return [(w[L.weights].reshape(L.fan_out, L.fan_in), w[L.biases]) for L in self.layers]

    def outputs(self, w: Array, x: Array) -> Array:
        """The output unit's value for each row of ``x`` ``(m, inputs)``: ``(m,)`` logits (classes)
        or predictions (regression)."""
        act = ACTIVATIONS[self.activation]
        h = x
        params = self.unflatten(w)
        for k, (W, b) in enumerate(params):
            h = h @ W.T + b[None, :]
            if k < len(params) - 1:
                h = act(h)
        return h[:, 0]

    def predict(self, w: Array, x: Array) -> Array:
        """What the network says for each row: the probability of class 1, or the value."""
        out = self.outputs(w, x)
        return jax.nn.sigmoid(out) if self.classify else out

    def loss_fn(self, w: Array, x: Array, y: Array) -> Array:
        """The mean loss over the rows of ``(x, y)``."""
        return self.metrics(w, x, y)[0]

    def metrics(self, w: Array, x: Array, y: Array) -> tuple[Array, Array]:
        """``(mean loss, accuracy)`` over ``(x, y)`` from one forward pass (accuracy 0 for
        regression: it has none)."""
        out = self.outputs(w, x)
        if not self.classify:
            return jnp.mean((out - y) ** 2), jnp.zeros((), out.dtype)
        if self.loss == "cross_entropy":
            loss = jnp.mean(optax.sigmoid_binary_cross_entropy(out, y))
        else:
            loss = jnp.mean((jax.nn.sigmoid(out) - y) ** 2)
        accuracy = jnp.mean(((out > 0) == (y > 0.5)).astype(out.dtype))
        return loss, accuracy


@functools.cache
def _layers(sizes: tuple[int, ...]) -> tuple[Layer, ...]:
    layers, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(Layer(fan_in, fan_out, offset))
        offset += layers[-1].size
    return tuple(layers)


def init_weights(arch: Arch, seed: int) -> NDArray:
    """The seeded initial weights: Glorot uniform (tanh, sigmoid) or He normal (relu), biases 0.

    Glorot & Bengio (2010) keep a tanh layer's activations and gradients of similar variance
    with ``Var(W) = 2 / (fan_in + fan_out)``; He et al. (2015) double the variance for relu,
    which zeroes half its inputs: ``Var(W) = 2 / fan_in``.
    """
    rng = np.random.default_rng([seed, 16])
    w = np.zeros(arch.n_weights)
    for L in arch.layers:
        shape = (L.fan_out * L.fan_in,)
        if arch.activation == "relu":
            w[L.weights] = rng.normal(0.0, math.sqrt(2.0 / L.fan_in), size=shape)
        else:
            limit = math.sqrt(6.0 / (L.fan_in + L.fan_out))
            w[L.weights] = rng.uniform(-limit, limit, size=shape)
    w.flags.writeable = False
    return w


# --- the problem ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Network:
    """A network and its data: what a scene with ``[problem] name = "mlp"`` trains.

    Attributes:
      name: ``"mlp"``.
      title: a human title.
      dataset: the dataset's name.
      arch: the architecture (its functions: outputs, loss, metrics).
      x: ``(n, inputs)`` the inputs.
      y: ``(n,)`` the targets (0/1 for classes).
      init: ``(P,)`` the seeded initial weights every entry starts from.
      params: the parameters it was built from (as given).
    """

    name: str
    title: str
    dataset: str
    arch: Arch
    x: NDArray
    y: NDArray
    init: NDArray
    params: Mapping[str, Hashable]

    has_data = True

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.x.shape[0])

    @property
    def n_weights(self) -> int:
        return self.arch.n_weights

    @property
    def classify(self) -> bool:
        return self.arch.classify

    @property
    def layers(self) -> tuple[Layer, ...]:
        return self.arch.layers

    def loss(self, weights: NDArray) -> float:
        """The full-batch loss at one weight vector (a convenience; not for loops)."""
        return float(self.arch.loss_fn(jnp.asarray(weights), jnp.asarray(self.x), self.y))

    def input_view(self, margin: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
        """The data's box with ``margin`` of its size around it: ``((x0, x1), (y0, y1))`` over the
        two inputs (classes), or over the input and the target (regression)."""
        cols = self.x if self.classify else np.stack([self.x[:, 0], self.y], axis=1)
        lo, hi = cols.min(axis=0), cols.max(axis=0)
        pad = margin * np.maximum(hi - lo, 1e-6)
        return (
            (float(lo[0] - pad[0]), float(hi[0] + pad[0])),
            (float(lo[1] - pad[1]), float(hi[1] + pad[1])),
        )

    def input_grid(self, resolution: int = 64) -> tuple[NDArray, NDArray, NDArray]:
        """``(xs, ys, points)``: a grid over :meth:`input_view`, the points ``(r * r, 2)`` in
        row-major ``meshgrid(xs, ys)`` order (``ys`` empty and ``points`` ``(r, 1)`` for a
        regression's one input)."""
        (x0, x1), (y0, y1) = self.input_view()
        xs = np.linspace(x0, x1, resolution)
        if not self.classify:
            return xs, np.empty(0), xs[:, None]
        ys = np.linspace(y0, y1, resolution)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)

    def predictions(self, weights: NDArray, resolution: int = 64) -> NDArray:
        """What the network says over :meth:`input_grid` for each weight vector.

        Args:
          weights: ``(P,)`` or ``(k, P)`` (a path's steps, say: any steps at once).
          resolution: points per axis.

        Returns:
          ``(k, r, r)`` probabilities of class 1 (``[k, i, j]`` at ``(xs[j], ys[i])``; 0.5 is
          the decision boundary), or ``(k, r)`` fitted values for regression; ``k`` dropped for
          one weight vector.
        """
        w = np.asarray(weights, dtype=np.float64)
        single = w.ndim == 1
        _, _, points = self.input_grid(resolution)
        out = np.asarray(_predict_program(self.arch)(jnp.atleast_2d(w), jnp.asarray(points)))
        if self.classify:
            out = out.reshape(out.shape[0], resolution, resolution)
        return out[0] if single else out


@functools.lru_cache(maxsize=16)
def _predict_program(arch: Arch) -> Callable[[Array, Array], Array]:
    # vmap over weight vectors: one program for any number of steps (a new count recompiles).
    return jax.jit(jax.vmap(arch.predict, in_axes=(0, None)))


# --- parameters and their checks ------------------------------------------------------------------


def _check_dataset(value: object) -> str:
    if not isinstance(value, str) or value not in DATASETS:
        raise SceneError(f"dataset: must be one of {', '.join(DATASETS)}, got {value!r:.60}")
    return value


def _check_hidden(value: object) -> tuple[int, ...]:
    shape = (
        f"must be an array of 1 to {MAX_DEPTH} layer sizes, each an integer in [1, {MAX_WIDTH}] "
        "(e.g. [8, 8])"
    )
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_DEPTH:
        raise SceneError(f"hidden: {shape}, got {value!r:.60}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_WIDTH:
            raise SceneError(f"hidden: {shape}, got {value!r:.60}")
    return tuple(int(v) for v in value)


def _check_choice(key: str, allowed: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise SceneError(f"{key}: must be one of {', '.join(allowed)}, got {value!r:.60}")
        return value

    return check


MLP_PARAMS = (
    ParamSpec(
        "n", 200, MIN_POINTS, MAX_POINTS, integer=True, doc="number of data points", dataset=True
    ),
    ParamSpec("noise", 0.1, 0.0, 1.0, doc="std of the Gaussian noise on the data", dataset=True),
    ParamSpec("data_seed", 0, 0, 2**31 - 1, integer=True, doc="seed of the dataset", dataset=True),
    ParamSpec("init_seed", 0, 0, 2**31 - 1, integer=True, doc="seed of the initial weights"),
)

MLP_OPTIONS = (
    OptionSpec("dataset", f"one of {', '.join(DATASETS)}", _check_dataset, str),
    OptionSpec("hidden", "hidden layer sizes, e.g. [8, 8]", _check_hidden, list),
    OptionSpec(
        "activation",
        f"one of {', '.join(ACTIVATIONS)}",
        _check_choice("activation", tuple(ACTIVATIONS)),
        str,
    ),
    OptionSpec(
        "loss",
        "cross_entropy (classes) or mse; by default cross-entropy for classes, mse for sine",
        _check_choice("loss", LOSSES),
        str,
    ),
)


def _arch_of(values: Mapping[str, Hashable]) -> Arch:
    dataset = str(values.get("dataset", "moons"))
    classify = dataset not in REGRESSION
    loss = str(values.get("loss", "cross_entropy" if classify else "mse"))
    if loss == "cross_entropy" and not classify:
        raise SceneError(
            f"loss: cross_entropy needs classes, and {dataset} is a regression; use mse"
        )
    hidden = values.get("hidden", DEFAULT_HIDDEN)
    sizes = (1 if dataset in REGRESSION else 2, *hidden, 1)  # type: ignore[misc]
    return Arch(sizes, str(values.get("activation", "tanh")), loss, classify)


def _checked(params: Mapping[str, object]) -> dict[str, Hashable]:
    """``params`` checked against the specs and options (each message names its key)."""
    given = dict(params)
    values: dict[str, Hashable] = {}
    for spec in MLP_PARAMS:
        if spec.name in given:
            err = spec.problem_with(given[spec.name])
            if err:
                raise SceneError(f"{spec.name}: {err}")
            values[spec.name] = spec.coerce(given.pop(spec.name))  # type: ignore[arg-type]
    for option in MLP_OPTIONS:
        if option.name in given:
            values[option.name] = option.check(given.pop(option.name))
    if given:
        allowed = (
            ", ".join(s.name for s in MLP_PARAMS) + ", " + ", ".join(o.name for o in MLP_OPTIONS)
        )
        raise SceneError(f"{sorted(given)[0]}: not a parameter of mlp (allowed: {allowed})")
    arch = _arch_of(values)
    if arch.n_weights > MAX_WEIGHTS:
        raise SceneError(
            f"hidden: {list(arch.sizes[1:-1])} makes {arch.n_weights:,} weights; "
            f"at most {MAX_WEIGHTS:,} (fewer or narrower layers)"
        )
    return values


def make_network(params: Mapping[str, object] | None = None) -> Network:
    """The ``mlp`` problem with ``params`` over its defaults (moons, 200 points, noise 0.1, a
    2-8-8-1 tanh net, cross-entropy, seeds 0).

    Cached: equal parameters give the same object (its data and initial weights are read-only).

    Raises:
      SceneError: an unknown parameter or a value out of its range, naming the key.
    """
    values = _checked(params or {})
    return _network(tuple(sorted(values.items())))


@functools.lru_cache(maxsize=32)
def _network(items: tuple[tuple[str, Hashable], ...]) -> Network:
    values = dict(items)
    arch = _arch_of(values)
    dataset = str(values.get("dataset", "moons"))
    spec = {p.name: p for p in MLP_PARAMS}
    get = lambda k: values.get(k, spec[k].default)  # noqa: E731
    x, y = make_data(dataset, int(get("n")), float(get("noise")), int(get("data_seed")))  # type: ignore[arg-type]
    hidden = "-".join(str(s) for s in arch.sizes)
    return Network(
        name="mlp",
        title=f"A {hidden} {arch.activation} network on {dataset} ({arch.n_weights} weights)",
        dataset=dataset,
        arch=arch,
        x=x,
        y=y,
        init=init_weights(arch, int(get("init_seed"))),  # type: ignore[arg-type]
        params=values,
    )


def run_size_problem(
    params: Mapping[str, object], entries: int, steps: int, batch_sizes: set[int]
) -> str | None:
    """Why a run of ``entries`` entries x ``steps`` steps on this network is too big to hold, or
    None: the recorded weights past :data:`MAX_RECORDED` values, or the batch tables (of the
    distinct ``batch_sizes``) past :data:`MAX_BATCH_INDICES` indices. Cheap: no data are made."""
    values = _checked(params)
    weights = _arch_of(values).n_weights
    recorded = entries * (steps + 1) * weights
    if recorded > MAX_RECORDED:
        return (
            f"{entries} entries x {steps + 1:,} steps x {weights:,} weights is {recorded:,} "
            f"recorded values; at most {MAX_RECORDED:,} (fewer steps or entries, or a smaller "
            "network)"
        )
    indices = steps * sum(batch_sizes)
    if indices > MAX_BATCH_INDICES:
        return (
            f"{steps:,} steps of batches of {sorted(batch_sizes)} are {indices:,} sample "
            f"indices; at most {MAX_BATCH_INDICES:,} (fewer steps or smaller batches)"
        )
    return None


def _build(**values: Hashable) -> Network:
    return make_network(values)


NETWORKS: dict[str, ProblemSpec] = {
    "mlp": ProblemSpec(
        "mlp",
        "a small network, every weight trained, seen on a plane through weight space",
        MLP_PARAMS,
        _build,
        has_data=True,
        options=MLP_OPTIONS,
    )
}
"""Problems trained in full weight space, by name: apart from the two-parameter
:data:`gdviz.core.registry.PROBLEMS` (see the module's note)."""
