"""The ``mlp`` problem (gdviz.core.mlp) and its training in full weight space (gdviz.core.weightspace).

The oracle is a hand-written numpy network (forward pass and backpropagation, below), independent
of JAX: its loss must equal the network's, its gradient finite differences and JAX's, and plain
numpy loops of SGD, momentum and Adam over it must give the trained weights step by step.
(gdviz.core.reference's loops keep 2-vector state, ``np.zeros(2)``; these are the same equations,
stated again for P weights.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest

from gdviz.core import weightspace
from gdviz.core.mlp import (
    ACTIVATIONS,
    DATASETS,
    MAX_WEIGHTS,
    Arch,
    Network,
    init_weights,
    make_data,
    make_network,
)
from gdviz.core.scene import (
    OptimizerEntry,
    Scene,
    SceneError,
    dumps_scene,
    load_scene,
    parse_scene,
    save_scene,
)
from gdviz.core.simulate import batch_schedule, simulate

DATA = Path(__file__).parent.parent / "data"

# --- the numpy oracle -----------------------------------------------------------------------------


def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The activation and its derivative at ``z``."""
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    s = 1.0 / (1.0 + np.exp(-z))
    return s, s * (1.0 - s)


def np_layers(arch: Arch, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W, b)]`` from the flat vector: per layer, the matrix (out, in) row-major, then b."""
    out, k = [], 0
    for fan_in, fan_out in zip(arch.sizes[:-1], arch.sizes[1:], strict=True):
        W = w[k : k + fan_in * fan_out].reshape(fan_out, fan_in)
        k += fan_in * fan_out
        out.append((W, w[k : k + fan_out]))
        k += fan_out
    assert k == w.size
    return out


def np_loss_grad(
    arch: Arch, w: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """The mean loss and its gradient by backpropagation."""
    layers = np_layers(arch, w)
    hs, derivs = [x], []
    for k, (W, b) in enumerate(layers):
        z = hs[-1] @ W.T + b
        if k < len(layers) - 1:
            h, d = _act(arch.activation, z)
            hs.append(h)
            derivs.append(d)
        else:
            o = z[:, 0]
    m = len(y)
    if not arch.classify:
        loss, d_o = np.mean((o - y) ** 2), 2 * (o - y) / m
    elif arch.loss == "cross_entropy":
        loss, d_o = np.mean(np.logaddexp(0.0, o) - y * o), (1 / (1 + np.exp(-o)) - y) / m
    else:
        s = 1 / (1 + np.exp(-o))
        loss, d_o = np.mean((s - y) ** 2), 2 * (s - y) * s * (1 - s) / m
    grads = []
    delta = d_o[:, None]
    for k in range(len(layers) - 1, -1, -1):
        grads.append((delta.T @ hs[k]).ravel())
        grads.append(delta.sum(axis=0))
        if k:
            delta = (delta @ layers[k][0]) * derivs[k - 1]
    # grads were collected last layer first, bias after matrix: put them back in flat order.
    pairs = [grads[i : i + 2] for i in range(0, len(grads), 2)][::-1]
    return float(loss), np.concatenate([np.concatenate(p) for p in pairs])


def np_accuracy(arch: Arch, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    layers = np_layers(arch, w)
    h = x
    for k, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if k < len(layers) - 1:
            h = _act(arch.activation, h)[0]
    return float(np.mean((h[:, 0] > 0) == (y > 0.5)))


# --- data and parameters --------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
def test_datasets_are_seeded_shaped_and_labelled(dataset: str) -> None:
    x, y = make_data(dataset, 51, 0.1, 3)
    x2, y2 = make_data(dataset, 51, 0.1, 3)
    x3, _ = make_data(dataset, 51, 0.1, 4)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, x3)
    assert not x.flags.writeable and not y.flags.writeable
    if dataset == "sine":
        assert x.shape == (51, 1)
        # The targets are sin(x) plus noise of std 0.1.
        assert abs(np.std(y - np.sin(x[:, 0])) - 0.1) < 0.04
    else:
        assert x.shape == (51, 2)
        assert set(np.unique(y)) == {0.0, 1.0} and y.sum() in (25, 26)  # two balanced classes
        assert np.abs(x).max() < 2.5


def test_noise_free_classes_follow_their_rule() -> None:
    x, y = make_data("xor", 200, 0.0, 0)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(float))
    x, y = make_data("circles", 200, 0.0, 0)
    assert np.allclose(np.hypot(x[:, 0], x[:, 1]), np.where(y == 1, 0.5, 1.0))


def test_initial_weights_glorot_and_he() -> None:
    tanh = Arch((2, 32, 32, 1), "tanh", "cross_entropy", True)
    w = init_weights(tanh, 5)
    assert np.array_equal(w, init_weights(tanh, 5)) and not np.array_equal(w, init_weights(tanh, 6))
    (W1, b1), (W2, b2), _ = np_layers(tanh, w)
    assert not b1.any() and not b2.any()  # biases start at 0
    assert np.abs(W2).max() <= np.sqrt(6 / 64)  # Glorot uniform bound for 32 -> 32
    assert abs(W2.std() - np.sqrt(2 / 64)) < 0.02  # its std: sqrt(6/64)/sqrt(3)
    relu = Arch((2, 32, 32, 1), "relu", "cross_entropy", True)
    W2 = np_layers(relu, init_weights(relu, 5))[1][0]
    assert abs(W2.std() - np.sqrt(2 / 32)) < 0.03  # He normal: Var = 2 / fan_in


def test_defaults_and_layout() -> None:
    net = make_network()
    assert net.arch.sizes == (2, 8, 8, 1) and net.n == 200 and net.dataset == "moons"
    assert net.n_weights == 105 == net.init.size  # (2+1)*8 + (8+1)*8 + (8+1)*1
    assert make_network({"hidden": [8, 8]}) is make_network({"hidden": (8, 8)})  # cached
    first = net.layers[0]
    assert (first.weights, first.biases) == (slice(0, 16), slice(16, 24))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dataset": "mnist"}, "dataset: must be one of moons, circles"),
        ({"hidden": [8, 8, 8, 8, 8]}, "hidden: must be an array of 1 to 4"),
        ({"hidden": [0]}, "hidden: must be an array"),
        ({"hidden": [8.5]}, "hidden: must be an array"),
        ({"hidden": [32, 32, 32]}, f"makes 2,241 weights; at most {MAX_WEIGHTS:,}"),
        ({"activation": "gelu"}, "activation: must be one of tanh, relu, sigmoid"),
        ({"dataset": "sine", "loss": "cross_entropy"}, "cross_entropy needs classes"),
        ({"n": 3}, "n: must be an integer in [4, 2000]"),
        ({"n": 10**9}, "n: must be an integer in [4, 2000]"),
        ({"noise": -1.0}, "noise: must be a number in [0, 1]"),
        ({"depth": 3}, "depth: not a parameter of mlp"),
    ],
)
def test_parameters_are_checked(params: dict[str, object], message: str) -> None:
    with pytest.raises(SceneError, match=None) as err:
        make_network(params)
    assert message in str(err.value)


# --- gradients ------------------------------------------------------------------------------------


GRAD_CASES = [
    (d, a, "mse" if d == "sine" else "cross_entropy") for d in DATASETS for a in ACTIVATIONS
]
GRAD_CASES.append(("moons", "tanh", "mse"))  # squared error of the probability


def _case(dataset: str, activation: str, loss: str) -> tuple[Network, np.ndarray]:
    net = make_network(
        {"dataset": dataset, "activation": activation, "hidden": [4, 3], "n": 20, "loss": loss}
    )
    return net, net.init + np.random.default_rng(1).normal(0.0, 0.3, net.n_weights)  # biases too


@pytest.fixture(scope="module")
def jax_gradients() -> list[tuple[tuple[float, float], np.ndarray]]:
    """``((loss, accuracy), gradient)`` of every case from JAX, in ONE compiled program, with
    ``vmap`` over the datasets that share an architecture: compiling costs per traced call
    (~1-3 s per architecture here), so 7 calls, not 16."""
    cases = [_case(*c) for c in GRAD_CASES]
    groups: dict[Arch, list[int]] = {}
    for i, (net, _) in enumerate(cases):
        groups.setdefault(net.arch, []).append(i)

    def every(stacked):  # noqa: ANN001, ANN202
        fns = [jax.vmap(jax.value_and_grad(arch.metrics, has_aux=True)) for arch in groups]
        return [fn(*args) for fn, args in zip(fns, stacked, strict=True)]

    stacked = [
        tuple(
            np.stack(part)
            for part in zip(
                *[(cases[i][1], cases[i][0].x, cases[i][0].y) for i in idx], strict=True
            )
        )
        for idx in groups.values()
    ]
    out: list[tuple[tuple[float, float], np.ndarray]] = [None] * len(cases)  # type: ignore[list-item]
    for idx, ((loss, acc), grad) in zip(groups.values(), jax.jit(every)(stacked), strict=True):
        for k, i in enumerate(idx):
            out[i] = ((float(loss[k]), float(acc[k])), np.asarray(grad[k]))
    return out


@pytest.mark.parametrize("case", range(len(GRAD_CASES)), ids=["-".join(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences(case: int, jax_gradients) -> None:  # noqa: ANN001
    net, w = _case(*GRAD_CASES[case])
    arch, x, y = net.arch, net.x, net.y
    value, grad = np_loss_grad(arch, w, x, y)
    (got_loss, got_acc), jgrad = jax_gradients[case]
    assert got_loss == pytest.approx(value, rel=1e-12)
    if arch.classify:
        assert got_acc == pytest.approx(np_accuracy(arch, w, x, y), rel=1e-12)
    # Central differences of the numpy loss, h = 1e-6: error ~h² f''' + eps f / h ~ 1e-10.
    h = 1e-6
    fd = np.array(
        [
            (np_loss_grad(arch, w + h * e, x, y)[0] - np_loss_grad(arch, w - h * e, x, y)[0])
            / (2 * h)
            for e in np.eye(w.size)
        ]
    )
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-8)
    assert np.allclose(jgrad, grad, rtol=1e-10, atol=1e-13)


# --- training -------------------------------------------------------------------------------------

SMALL = {"dataset": "moons", "n": 24, "hidden": (3, 2), "activation": "tanh"}
STEPS = 6


def _entries(lr: float = 0.3) -> tuple[OptimizerEntry, ...]:
    return (
        OptimizerEntry("sgd", "SGD", {"learning_rate": lr}),
        OptimizerEntry("momentum", "Momentum", {"learning_rate": lr / 3}),
        OptimizerEntry("adam", "Adam", {"learning_rate": 0.05}),
        OptimizerEntry("adam", "Adam (batch 8)", {"learning_rate": 0.05}, batch_size=8),
        OptimizerEntry("sgd", "SGD + l2, clip", {"learning_rate": lr}, l2=0.1, clip_norm=0.05),
    )


def _scene(lr: float = 0.3, **problem: object) -> Scene:
    return Scene(
        "mlp",
        _entries(lr),
        problem_params={**SMALL, **problem},
        steps=STEPS,
        seed=7,
    )


@pytest.fixture(scope="module")
def trained() -> tuple[Scene, dict[str, weightspace.WeightPath]]:
    scene = _scene()
    return scene, weightspace.train(scene)


def test_recorded_loss_and_accuracy_are_the_full_batch_ones(trained) -> None:  # noqa: ANN001
    scene, paths = trained
    net = scene.build_network()
    for path in paths.values():
        assert path.weights.shape == (STEPS + 1, net.n_weights)
        assert np.array_equal(path.weights[0], net.init)  # every entry from the same init
        for k in range(STEPS + 1):
            w = path.weights[k]
            assert path.loss[k] == pytest.approx(
                np_loss_grad(net.arch, w, net.x, net.y)[0], rel=1e-12
            )
            assert path.accuracy[k] == pytest.approx(np_accuracy(net.arch, w, net.x, net.y))
        assert path.diverged_at is None and path.learning_rates.shape == (STEPS,)


def _np_run(rule: str, net, w, steps, lr, rows=None, l2=0.0, clip=0.0) -> np.ndarray:  # noqa: ANN001
    """Plain loops, optax's convention: SGD ``w -= lr g``; momentum (heavy ball, as optax.sgd
    and torch.optim.SGD) ``v = 0.9 v + g, w -= lr v``; Adam (b1 0.9, b2 0.999, eps 1e-8 outside
    the root, bias-corrected). ``rows``: each step's batch; ``l2``, ``clip``: the gradient gains
    ``l2 w``, then is clipped to norm ``clip``."""
    out, v, m, s = [w], np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        x, y = (net.x, net.y) if rows is None else (net.x[rows[t - 1]], net.y[rows[t - 1]])
        g = np_loss_grad(net.arch, w, x, y)[1] + l2 * w
        if clip and np.linalg.norm(g) >= clip:
            g = g * clip / np.linalg.norm(g)
        if rule == "sgd":
            w = w - lr * g
        elif rule == "momentum":
            v = 0.9 * v + g
            w = w - lr * v
        else:
            m = 0.9 * m + 0.1 * g
            s = 0.999 * s + 0.001 * g * g
            w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        out.append(w)
    return np.array(out)


def test_first_steps_equal_plain_numpy_loops(trained) -> None:  # noqa: ANN001
    scene, paths = trained
    net = scene.build_network()
    rows = np.asarray(batch_schedule(net.n, 8, STEPS, scene.seed))
    expected = {
        "SGD": _np_run("sgd", net, net.init, STEPS, 0.3),
        "Momentum": _np_run("momentum", net, net.init, STEPS, 0.1),
        "Adam": _np_run("adam", net, net.init, STEPS, 0.05),
        "Adam (batch 8)": _np_run("adam", net, net.init, STEPS, 0.05, rows=rows),
        "SGD + l2, clip": _np_run("sgd", net, net.init, STEPS, 0.3, l2=0.1, clip=0.05),
    }
    for label, want in expected.items():
        assert np.allclose(paths[label].weights, want, rtol=1e-9, atol=1e-12), label
    # The mini-batch entry saw the seeded batches, so it parts from the full-batch Adam.
    assert not np.allclose(paths["Adam (batch 8)"].weights[1:], paths["Adam"].weights[1:])
    assert paths["Adam (batch 8)"].batches is batch_schedule(net.n, 8, STEPS, scene.seed)


def test_runs_are_reproducible_and_seeds_matter(trained) -> None:  # noqa: ANN001
    scene, paths = trained
    again = weightspace.train(scene)  # the compiled program is reused
    for label in paths:
        assert np.array_equal(again[label].weights, paths[label].weights)
    other_init = weightspace.train(_scene(init_seed=1))
    assert not np.allclose(other_init["SGD"].weights[0], paths["SGD"].weights[0])
    other_batches = weightspace.train(scene.replace(seed=8))
    assert np.array_equal(other_batches["Adam"].weights, paths["Adam"].weights)
    assert not np.allclose(other_batches["Adam (batch 8)"].weights, paths["Adam (batch 8)"].weights)


def test_divergence_freezes_at_the_last_sound_point() -> None:
    paths = weightspace.train(_scene(lr=1e9))  # same structure: no compile
    sgd = paths["SGD"]
    assert sgd.diverged_at is not None and 1 <= sgd.diverged_at <= STEPS
    k = sgd.diverged_at
    assert np.isfinite(sgd.weights).all() and np.isfinite(sgd.loss).all()
    assert (sgd.weights[k:] == sgd.weights[k - 1]).all() and (sgd.loss[k:] == sgd.loss[k - 1]).all()
    assert paths["Adam"].diverged_at is None  # its own rate is unchanged


def test_predictions_over_the_input_plane(trained) -> None:  # noqa: ANN001
    scene, paths = trained
    net = scene.build_network()
    weights = paths["Adam"].weights
    xs, ys, points = net.input_grid(5)
    probs = net.predictions(weights, 5)  # every step at once
    assert probs.shape == (STEPS + 1, 5, 5)
    assert np.allclose(probs[3].ravel(), np.asarray(net.arch.predict(weights[3], points)))
    assert np.allclose(net.predictions(weights[3], 5), probs[3])
    (x0, x1), (y0, y1) = net.input_view()
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (x0, x1, y0, y1)
    assert x0 < net.x[:, 0].min() and y1 > net.x[:, 1].max()
    sine = make_network({"dataset": "sine", "hidden": [3], "n": 10})
    curve = sine.predictions(np.stack([sine.init, sine.init]), 7)
    assert curve.shape == (2, 7)


# --- scenes ---------------------------------------------------------------------------------------

NETWORK_SCENE = """\
title = "A network"
steps = 6

[problem]
name = "mlp"
dataset = "xor"
hidden = [4]
activation = "relu"
init_seed = 3

[plane]
kind = "minima"
entries = ["SGD", "Adam"]

[[optimizer]]
name = "sgd"
learning_rate = 0.5
label = "SGD"

[[optimizer]]
name = "adam"
learning_rate = 0.01
label = "Adam"
batch_size = 10
"""


def test_a_network_scene_round_trips(tmp_path: Path) -> None:
    scene = parse_scene(NETWORK_SCENE)
    assert scene.is_network and scene.start == (0.0, 0.0)
    assert scene.plane is not None and scene.plane.entries == ("SGD", "Adam")
    assert scene.build_network().arch.sizes == (2, 4, 1)
    assert scene.problem_params["hidden"] == (4,)
    assert parse_scene(dumps_scene(scene.replace(source=None))) == scene  # written afresh
    made = Scene("mlp", scene.optimizers, {"dataset": "xor", "hidden": [4], "activation": "relu"})
    assert made.problem_params["hidden"] == (4,)  # checked and hashable, as a file gives it
    edited = scene.replace_entry("Adam", hyperparams={"learning_rate": 0.02})
    path = tmp_path / "net.toml"
    save_scene(edited, path)
    text = path.read_text("utf-8")
    assert "learning_rate = 0.02" in text and "[plane]" in text and "start" not in text
    assert load_scene(path) == edited
    # A scene without [plane] stays without one: the default PCA plane through the init.
    bare = parse_scene(
        NETWORK_SCENE.replace('[plane]\nkind = "minima"\nentries = ["SGD", "Adam"]\n', "")
    )
    assert bare.plane is None and bare.plane_spec.kind == "pca"
    assert "[plane]" not in dumps_scene(bare.replace(source=None))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("steps = 6", "steps = 6\nstart = [1.0, 2.0]"), "start: a network starts from its seeded"),
        (
            ('label = "SGD"', 'label = "SGD"\ngradient_noise = 0.1'),
            "gradient_noise: a network has data",
        ),
        (('name = "sgd"', 'name = "newton"'), "2x2 Hessian of two parameters"),
        (
            ('entries = ["SGD", "Adam"]', 'entries = ["SGD", "Nobody"]'),
            "plane: no entry called 'Nobody'",
        ),
        (('kind = "minima"', 'kind = "flat"'), "plane.kind: must be one of pca, random, minima"),
        (('kind = "minima"', 'kind = "pca"'), "plane.entries: only a minima plane takes entries"),
        (("[plane]", "[plane]\nzoom = 2"), "plane.zoom: unknown key"),
        (("batch_size = 10", "batch_size = 500"), "batch_size: must be an integer in [1, 200]"),
        (("hidden = [4]", "hidden = [33]"), "problem.hidden: must be an array"),
        (("steps = 6\n", "steps = 10000\nseed = 0\n"), "recorded values; at most 10,000,000"),
    ],
)
def test_network_scenes_refuse_what_they_cannot_hold(edit: tuple[str, str], message: str) -> None:
    text = NETWORK_SCENE.replace(*edit)
    if "10000" in edit[1]:
        text = text.replace("hidden = [4]", "hidden = [32, 32]")  # 2 x 10,001 x 1,185 weights
    with pytest.raises(SceneError) as err:
        parse_scene(text, "net.toml")
    assert message in str(err.value) and "net.toml" in str(err.value)


def test_two_parameter_tools_refuse_a_network_scene_with_a_message() -> None:
    scene = parse_scene(NETWORK_SCENE)
    with pytest.raises(SceneError, match="no two-parameter loss surface"):
        scene.build_problem()
    with pytest.raises(SceneError, match="no two-parameter loss surface"):
        simulate(scene)
    with pytest.raises(SceneError, match="plane: only a network scene"):
        dataclasses.replace(load_scene("rosenbrock"), plane=scene.plane)
    with pytest.raises(SceneError, match="simulate\\(\\) runs it"):
        weightspace.train(load_scene("rosenbrock"))
