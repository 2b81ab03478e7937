"""Beyond the classic seven: the newer rules, schedules, weight decay, L2, clipping, Newton, tuning.

The newer rules run together, one scene per problem and convention (one compile each), and each
path is compared with its plain-loop reference (:mod:`gdviz.core.reference`) to 1e-9 over 100
steps. Problems: Rosenbrock, an ill-conditioned quadratic, linear regression and the saddle (the
analytic ones with hand-derived Hessians; the other built-in problems are left to the classic
rules' table: the rules' code does not depend on the problem).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gdviz.cli import main
from gdviz.core import OptimizerEntry, Scene, SceneError, load_scene, make_problem, parse_scene
from gdviz.core import reference as ref
from gdviz.core.optimizers import CONVENTIONS, RULES, EntryKind
from gdviz.core.schedules import SCHEDULES, schedule_values
from gdviz.core.simulate import MAX_COMPILED, learning_rates, simulate
from gdviz.core.teaching import quadratic_model, step_parts
from gdviz.core.tune import trace_count, tune
from tests.core.test_simulate import count_compilations

STEPS = 100
NEW = (
    "adamw",
    "nadam",
    "amsgrad",
    "lion",
    "sign_descent",
    "schedule_free_sgd",
    "schedule_free_adamw",
    "newton",
    "newton_undamped",
)

PYTORCH_DIFFERS = ("adamw", "nadam", "amsgrad")

_REG = make_problem("linear_regression", {"n": 50, "noise": 0.3, "data_seed": 3})
# (params, start, learning rate for first-order rules, gradient, Hessian)
PROBLEMS = {
    "rosenbrock": ({}, (-1.2, 1.0), 1e-3, ref.rosenbrock_grad(), ref.rosenbrock_hess()),
    "quadratic": (
        {"condition": 20.0},
        (4.0, -3.0),
        0.05,
        ref.quadratic_grad(20.0),
        ref.quadratic_hess(20.0),
    ),
    "linear_regression": (
        {"n": 50, "noise": 0.3, "data_seed": 3},
        (-2.0, 4.0),
        0.05,
        ref.mse_grad(_REG.x, _REG.y),
        ref.mse_hess(_REG.x),
    ),
    "saddle": ({}, (1.5, 0.5), 0.01, ref.saddle_grad(), ref.saddle_hess()),
}


def test_every_new_rule_is_registered() -> None:
    for r in set(NEW) - set(PYTORCH_DIFFERS):
        assert RULES[r].factory("optax") is RULES[r].factory("pytorch"), r
    assert set(NEW) <= set(RULES)
    assert (
        "adafactor" not in RULES
        and "Adafactor" in __import__("gdviz.core.optimizers").core.optimizers.__doc__
    )


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_new_rules_match_their_plain_loop_references(problem: str, convention: str) -> None:
    params, start, lr, grad, hess = PROBLEMS[problem]
    rules = [r for r in NEW if not (problem == "saddle" and r == "newton_undamped")]
    if convention == "pytorch":  # the others are one factory in both conventions
        rules = [r for r in rules if r in PYTORCH_DIFFERS]
    # Newton at a full step; Rosenbrock's steep walls want half a step from this start.
    rates = {r: (0.5 if problem == "rosenbrock" else 1.0) if "newton" in r else lr for r in rules}
    entries = tuple(OptimizerEntry(r, r, {"learning_rate": rates[r]}) for r in rules)
    scene = Scene(
        problem=problem,
        problem_params=params,
        optimizers=entries,
        steps=STEPS,
        start=start,
        convention=convention,  # type: ignore[arg-type]
    )
    paths = simulate(scene)
    for r in rules:
        path = paths[r]
        expected = ref.run(
            r,
            convention,
            grad,
            start,
            STEPS,
            hess=hess,
            learning_rate=rates[r],
            **ref.LIBRARY_DEFAULTS[convention][r],
        )
        stop = STEPS + 1 if path.diverged_at is None else path.diverged_at
        # The saddle drives descent off to -inf, refused at last (damped Newton: in a few steps).
        assert stop > (2 if "newton" in r else 20), r
        np.testing.assert_allclose(
            path.params[:stop], expected[:stop], rtol=0, atol=1e-9, err_msg=r
        )
        np.testing.assert_allclose(path.params[1:] - path.params[:-1], path.updates, atol=1e-12)


@pytest.mark.parametrize("rule", PYTORCH_DIFFERS)
def test_conventions_differ_for_adamw_nadam_and_amsgrad(rule: str) -> None:
    scene = Scene(
        problem="quadratic",
        optimizers=(OptimizerEntry(rule, "x", {"learning_rate": 0.1}),),
        steps=30,
        start=(3.0, 2.0),
    )
    a = simulate(scene)["x"].params
    b = simulate(scene.replace(convention="pytorch"))["x"].params
    assert np.abs(a - b).max() > 1e-4
    assert RULES[rule].equations["optax"] != RULES[rule].equations["pytorch"]


SCHEDULE_CASES = {
    "constant": ({}, optax.constant_schedule(0.3)),
    "step": (
        {"transition_steps": 40, "decay_rate": 0.5},
        optax.exponential_decay(0.3, 40, 0.5, staircase=True),
    ),
    "exponential": (
        {"transition_steps": 40, "decay_rate": 0.7},
        optax.exponential_decay(0.3, 40, 0.7),
    ),
    "cosine": ({"decay_steps": 200, "alpha": 0.1}, optax.cosine_decay_schedule(0.3, 200, 0.1)),
    "warmup_cosine": (
        {"init_value": 0.01, "warmup_steps": 30, "decay_steps": 250, "end_value": 0.02},
        optax.warmup_cosine_decay_schedule(0.01, 0.3, 30, 250, 0.02),
    ),
    "warmup_rsqrt": (
        {"init_value": 0.0, "warmup_steps": 30},
        optax.join_schedules(
            [
                optax.linear_schedule(0.0, 0.3, 30),
                lambda c: 0.3 * jnp.sqrt(30.0 / jnp.maximum(c + 30.0, 1.0)),
            ],
            [30],
        ),
    ),
    "one_cycle": (
        {"transition_steps": 250, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
        optax.cosine_onecycle_schedule(250, 0.3, 0.3, 25.0, 1e4),
    ),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_give_optax_own_values(name: str) -> None:
    values, expected_fn = SCHEDULE_CASES[name]
    got = np.asarray(schedule_values(name, 0.3, values, 300))
    expected = np.asarray(jax.vmap(expected_fn)(jnp.arange(300)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def _scheduled_scene(**changes: object) -> Scene:
    entries = (
        OptimizerEntry(
            "sgd",
            "cos",
            {"learning_rate": 0.1},
            schedule="warmup_cosine",
            schedule_params={"warmup_steps": 10, "end_value": 0.001},
        ),
        OptimizerEntry(
            "adam",
            "step",
            {"learning_rate": 0.2},
            schedule="step",
            schedule_params={"transition_steps": 20, "decay_rate": 0.5},
            weight_decay=0.05,
            clip_norm=2.0,
        ),
        OptimizerEntry("momentum", "l2", {"learning_rate": 0.02}, l2=0.3, schedule="one_cycle"),
        OptimizerEntry("newton", "newton", {"learning_rate": 0.5}, schedule="cosine", l2=0.1),
    )
    base = Scene(
        problem="quadratic",
        problem_params={"condition": 20.0},
        optimizers=entries,
        steps=60,
        start=(4.0, -3.0),
    )
    return base.replace(**changes)


def test_schedules_decay_l2_and_clipping_match_the_reference() -> None:
    scene = _scheduled_scene()
    paths = simulate(scene)
    grad, hess = ref.quadratic_grad(20.0), ref.quadratic_hess(20.0)
    for e in scene.optimizers:
        lrs = learning_rates(scene, e.label)
        expected_lrs = schedule_values(
            e.schedule, e.hyperparams["learning_rate"], e.resolved_schedule(60), 60
        )
        np.testing.assert_allclose(lrs, np.asarray(expected_lrs), rtol=1e-13)
        np.testing.assert_array_equal(paths[e.label].learning_rates, lrs)
        expected = ref.run(
            e.rule,
            "optax",
            grad,
            scene.start,
            60,
            hess=hess,
            lr_at=lambda k, lrs=lrs: float(lrs[k]) if k < len(lrs) else float(lrs[-1]),
            l2=e.l2,
            clip_norm=e.clip_norm,
            **{**ref.LIBRARY_DEFAULTS["optax"][e.rule], **e.hyperparams},
            **({"weight_decay": e.weight_decay} if e.weight_decay else {}),
        )
        np.testing.assert_allclose(paths[e.label].params, expected, atol=1e-9, err_msg=e.label)
    # The decay term is recorded and is the update's own part: -lr_k * wd * theta_k.
    adam = paths["step"]
    np.testing.assert_allclose(
        adam.decay, -adam.learning_rates[:, None] * 0.05 * adam.params[:-1], rtol=1e-15
    )
    assert paths["cos"].decay is None
    parts = step_parts(adam, scene.optimizers[1], "optax", 25)
    assert parts.learning_rate == pytest.approx(0.1)  # halved once by step 25
    np.testing.assert_allclose(
        parts.update, -parts.scale * parts.direction + parts.decay, rtol=1e-12, atol=1e-15
    )
    # Clipping: every recorded gradient is within the norm.
    assert np.linalg.norm(adam.grads, axis=1).max() <= 2.0 + 1e-12


def test_a_schedule_edit_never_recompiles() -> None:
    scene = _scheduled_scene()
    simulate(scene)
    learning_rates(scene, "cos")
    edited = scene.replace_entry(
        "cos", schedule_params={"warmup_steps": 25, "decay_steps": 50, "end_value": 0.01}
    ).replace_entry("step", weight_decay=0.2, clip_norm=0.5, schedule_params={"decay_rate": 0.1})
    edited = edited.replace_entry("l2", l2=1.5)
    with count_compilations() as compiled:
        a = simulate(edited)
        learning_rates(edited, "cos")
    assert compiled == []
    assert np.abs(a["cos"].params - simulate(scene)["cos"].params).max() > 1e-6
    # Switching a kind may compile (the counter sees it).
    with count_compilations() as switched:
        simulate(edited.replace_entry("cos", schedule="exponential", schedule_params={}))
    assert switched


def test_decoupled_decay_and_l2_coincide_for_sgd_and_differ_for_adam() -> None:
    def race(rule: str, lr: float) -> dict[str, np.ndarray]:
        entries = (
            OptimizerEntry(rule, "decay", {"learning_rate": lr}, weight_decay=0.1),
            OptimizerEntry(rule, "l2", {"learning_rate": lr}, l2=0.1),
        )
        scene = Scene(
            problem="quadratic",
            problem_params={"condition": 10.0},
            optimizers=entries,
            steps=80,
            start=(3.0, 2.0),
        )
        return {k: v.params for k, v in simulate(scene).items()}

    sgd = race("sgd", 0.05)
    # SGD: p - lr (g + wd p) either way (Loshchilov & Hutter, Prop. 1).
    np.testing.assert_allclose(sgd["decay"], sgd["l2"], rtol=0, atol=1e-12)
    adam = race("adam", 0.05)
    # Adam: the L2 gradient is divided by sqrt(nu) too, so the pull differs per axis.
    assert np.abs(adam["decay"] - adam["l2"]).max() > 1e-2
    # AdamW's own weight_decay is exactly the decoupled decay on Adam.
    entries = (
        OptimizerEntry("adamw", "w", {"learning_rate": 0.05, "weight_decay": 0.1}),
        OptimizerEntry("adam", "a", {"learning_rate": 0.05}, weight_decay=0.1),
    )
    paths = simulate(Scene(problem="quadratic", optimizers=entries, steps=50, start=(3.0, 2.0)))
    np.testing.assert_allclose(paths["w"].params, paths["a"].params, atol=1e-12)
    np.testing.assert_allclose(paths["w"].decay, paths["a"].decay, atol=1e-12)


def test_newton_lands_on_a_quadratic_minimum_and_damped_newton_leaves_the_saddle() -> None:
    entries = (OptimizerEntry("newton", "damped"), OptimizerEntry("newton_undamped", "raw"))
    bowl = Scene(
        problem="quadratic",
        problem_params={"condition": 30.0, "angle": 25.0},
        optimizers=entries,
        steps=3,
        start=(2.5, -1.7),
    )
    paths = simulate(bowl)
    minimum = bowl.build_problem().minima[0].point
    for label in ("damped", "raw"):
        np.testing.assert_allclose(paths[label].params[1], minimum, atol=1e-12)
    parts = step_parts(paths["damped"], bowl.optimizers[0], "optax", 0)
    centre, model = quadratic_model(parts)  # type: ignore[misc]
    np.testing.assert_allclose(centre, minimum, atol=1e-12)
    assert np.linalg.eigvalsh(model).min() > 0
    entries = (entries[0].with_hyperparam("damping", 1.0), entries[1])
    saddle = Scene(problem="saddle", optimizers=entries, steps=5, start=(1.0, 0.5))
    paths = simulate(saddle)
    np.testing.assert_allclose(paths["raw"].params[1], (0.0, 0.0), atol=1e-12)  # climbs to it
    damped = paths["damped"]
    assert np.all(np.abs(damped.params[1:, 1]) > 0.5)  # moves away along the descending axis
    assert np.all(np.diff(damped.loss) < 0)
    assert np.linalg.norm(damped.params[-1]) > 1.0


def test_tuned_rate_on_a_quadratic_bowl_is_the_analytic_best_within_a_grid_cell() -> None:
    scene = Scene(
        problem="quadratic",
        problem_params={"condition": 10.0},
        optimizers=(OptimizerEntry("sgd", "GD"), OptimizerEntry("adam", "Adam", visible=False)),
        steps=30,
        start=(3.0, 2.0),
    )
    result = tune(scene)
    assert set(result.rates) == {"GD"}  # visible entries only
    # GD on (x^2 + 10 y^2)/2: loss after N steps is sum_i lambda_i x_i^2 (1 - eta lambda_i)^(2N) / 2.
    etas = np.geomspace(1e-3, 1.0, 400_001)
    loss = 0.5 * (9 * (1 - etas) ** 60 + 10 * 4 * (1 - 10 * etas) ** 60)
    best = etas[np.argmin(loss)]
    curve = result.curves["GD"]
    cell = np.max(np.diff(np.log(curve.rates[(curve.rates > best / 2) & (curve.rates < best * 2)])))
    assert abs(np.log(result.rates["GD"] / best)) <= cell
    assert result.scene.entry("GD").hyperparams["learning_rate"] == result.rates["GD"]
    assert tune(scene).rates == result.rates  # reproducible
    with pytest.raises(SceneError, match="threshold"):
        tune(scene, objective="steps_to")


def test_tune_compiles_once_per_structure_and_reuses_it_for_new_numbers() -> None:
    # steps = 31: a structure no other test tunes, so the first call compiles here.
    entries = (OptimizerEntry("sgd", "GD"), OptimizerEntry("momentum", "Momentum"))
    scene = Scene(
        problem="quadratic",
        problem_params={"condition": 10.0},
        optimizers=entries,
        steps=31,
        start=(3.0, 2.0),
    )
    before = trace_count()
    first = tune(scene)
    assert trace_count() == before + 2  # one program per entry, both grids at one length
    with count_compilations() as compiled:
        again = tune(scene)
        # Another start, rule hyperparameter and problem constant: traced, nothing compiles.
        moved = scene.with_start((-2.5, 1.5)).replace(problem_params={"condition": 4.0})
        moved = moved.replace_entry("Momentum", hyperparams={"momentum": 0.5})
        other = tune(moved)
    assert not compiled and trace_count() == before + 2
    assert again.rates == first.rates
    for label in first.rates:
        np.testing.assert_array_equal(
            again.curves[label].final_loss, first.curves[label].final_loss
        )
    # The reused program ran the new numbers: every rate's final loss is the plain loop's.
    for label, rule, h in (("GD", "sgd", {}), ("Momentum", "momentum", {"momentum": 0.5})):
        curve = other.curves[label]
        want = np.array(
            [
                0.5 * np.sum(np.array([1.0, 4.0]) * p[-1] ** 2)
                for p in (
                    ref.run(
                        rule,
                        "optax",
                        ref.quadratic_grad(4.0),
                        (-2.5, 1.5),
                        31,
                        learning_rate=rate,
                        **h,
                    )
                    for rate in curve.rates
                )
            ]
        )
        sound = np.isfinite(curve.final_loss)
        assert sound.sum() > 20 and not sound.all()  # the large rates diverge
        np.testing.assert_allclose(curve.final_loss[sound], want[sound], rtol=1e-9, atol=1e-300)
        assert np.all(~np.isfinite(want[~sound]) | (want[~sound] > 1e3))
        assert other.rates[label] != first.rates[label]


def test_tuning_programs_are_a_bounded_lru(monkeypatch: pytest.MonkeyPatch) -> None:
    import gdviz.core.tune as tune_module
    from gdviz.core.lru import LRU

    monkeypatch.setattr(tune_module, "_programs", LRU(lambda: MAX_COMPILED))
    problem = make_problem("quadratic")
    keys = [
        (problem.loss_fn, "optax", EntryKind("sgd"), (False,), (10, 0, (0,), 10), n)
        for n in range(3, 3 + MAX_COMPILED + 4)
    ]
    programs = [tune_module._batched_program(k) for k in keys]  # made, not yet compiled
    assert tune_module.compiled_count() == MAX_COMPILED
    assert tune_module._batched_program(keys[-1]) is programs[-1]  # kept, and reused
    assert keys[0] not in tune_module._programs  # the least recently used went first


def test_gdviz_tune_writes_a_scene_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "race.toml"
    src.write_text(
        'steps = 40\nstart = [3.0, 2.0]\nproblem = { name = "quadratic" }\n'
        '[[optimizer]]\nname = "adamw"\nschedule = "cosine"\nalpha = 0.1\n'
        '[[optimizer]]\nname = "sgd"\nweight_decay = 0.01\nclip_norm = 5.0\n'
    )
    out = tmp_path / "tuned.toml"
    assert main(["tune", str(src), "-o", str(out)]) == 0
    tuned = load_scene(out)
    original = load_scene(src)
    assert [e.label for e in tuned.optimizers] == ["AdamW", "GD"]
    assert tuned.optimizers[0].schedule == "cosine" and tuned.optimizers[1].clip_norm == 5.0
    assert (
        tuned.optimizers[0].hyperparams["learning_rate"]
        != RULES["adamw"].spec("learning_rate").default
    )  # type: ignore[union-attr]
    assert tuned.replace(optimizers=original.optimizers) == original
    capsys.readouterr()
    assert main(["tune", str(src), "-o", str(out)]) == 2  # never overwritten without --force
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err


BAD_ENTRIES = [
    ('schedule = "linear"', "schedule"),
    ('schedule = "cosine"\ndecay_steps = 0', "decay_steps"),
    ("decay_steps = 100", "not a parameter of schedule 'constant'"),
    ('schedule = "step"\ndecay_rate = 2.0', "decay_rate"),
    ("clip_norm = -1.0", "clip_norm"),
    ("l2 = 11.0", "l2"),
]


@pytest.mark.parametrize(("line", "words"), BAD_ENTRIES)
def test_bad_schedule_and_modifier_values_name_the_key(line: str, words: str) -> None:
    text = f'problem = {{ name = "quadratic" }}\n[[optimizer]]\nname = "sgd"\n{line}\n'
    with pytest.raises(SceneError, match=words):
        parse_scene(text)


def test_schedule_free_rules_refuse_weight_decay_and_scenes_round_trip() -> None:
    with pytest.raises(SceneError, match="optimizer\\[0\\].weight_decay"):
        parse_scene(
            'problem = { name = "quadratic" }\n[[optimizer]]\nname = "schedule_free_sgd"\n'
            "weight_decay = 0.1\n"
        )
    from gdviz.core import dumps_scene

    scene = _scheduled_scene()
    assert parse_scene(dumps_scene(scene)) == scene
    assert scene.surface_l2 == 0.0  # the entries' l2 differ
    same = scene.replace(optimizers=tuple(e for e in scene.optimizers if e.label == "l2"))
    assert same.surface_l2 == 0.3
