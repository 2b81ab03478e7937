"""Learning-rate schedules per optimizer entry: optax's schedules, traced.

A schedule is ONE object, :class:`Schedule`: its parameters (named as optax names them, each a
:class:`ParamSpec` with a range), their defaults for a run of ``steps`` steps, and ``fn``, which
builds the schedule ``count -> learning rate`` from the entry's learning rate (the peak or initial
value) and its parameters. ``fn`` is called inside ``jit`` with every number traced, so editing a
schedule's parameter never recompiles; only switching the kind changes the compiled program.

Why not call optax's functions directly: ``optax.exponential_decay``, ``cosine_decay_schedule``,
``linear_schedule``, ``warmup_cosine_decay_schedule`` and ``cosine_onecycle_schedule`` test their
step counts in Python (``if transition_steps <= 0``, ``int(pct_start * transition_steps)``), which
a traced value cannot answer. The forms below are their formulas written with ``jnp`` only, and
``tests/core/test_rules_more.py`` checks each against optax's own function to 1e-12.

A step ``k`` (from 0) of an entry uses ``fn(...)(k)``: optax's ``scale_by_learning_rate`` counts
from 0 in its state. (optax.contrib's schedule-free wrapper also evaluates the schedule at
``k + 1`` for its averaging weights: see :mod:`gdviz.core.optimizers`.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gdviz.core.deferred import jnp
from gdviz.core.specs import ParamSpec
from gdviz.core.types import Array

ScheduleFn = Callable[[Array], Array]
"""``count -> learning rate`` (jnp scalars in, jnp scalar out)."""


@dataclass(frozen=True)
class Schedule:
    """One kind of learning-rate schedule.

    Attributes:
      name: the scene key's value (``schedule = "warmup_cosine"``).
      title: how menus name it.
      params: its parameters beyond the learning rate, by optax's names.
      optax_name: the optax function it mirrors, for docs and tests.
      fn: ``fn(learning_rate, **params) -> schedule``; traced arguments welcome.
      step_defaults: ``step_defaults(steps) -> {name: value}``: defaults that follow the run's
        length (``decay_steps`` = the steps); the specs' own defaults fill the rest.
      formula: one line of Unicode maths for tooltips and the lr strip's caption.
    """

    name: str
    title: str
    params: tuple[ParamSpec, ...]
    optax_name: str
    fn: Callable[..., ScheduleFn]
    formula: str
    step_defaults: Callable[[int], dict[str, float]] = lambda steps: {}

    def spec(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def resolved(self, given: Mapping[str, float], steps: int) -> dict[str, float]:
        """Every parameter: ``given`` over the step-following defaults over the specs'."""
        values = {p.name: float(p.default) for p in self.params}
        values.update(self.step_defaults(steps))
        values.update({k: float(v) for k, v in given.items()})
        return values

    def make(self, learning_rate: object, values: Mapping[str, object]) -> ScheduleFn:
        """The schedule with this peak/initial ``learning_rate`` and these parameters."""
        return self.fn(learning_rate, **values)


def _f(count: object) -> object:
    return jnp.asarray(count, dtype=jnp.float64)


def _constant(learning_rate: object) -> ScheduleFn:
    # optax.constant_schedule
    return lambda count: learning_rate + 0.0 * _f(count)


def _exponential(
    learning_rate: object, transition_steps: object, decay_rate: object, *, staircase: bool
) -> ScheduleFn:
    # optax.exponential_decay(init_value, transition_steps, decay_rate, staircase=...)
    def schedule(count: object) -> object:
        p = _f(count) / transition_steps
        if staircase:
            p = jnp.floor(p)
        return jnp.where(_f(count) <= 0, learning_rate, learning_rate * decay_rate**p)

    return schedule


def _step(learning_rate: object, transition_steps: object, decay_rate: object) -> ScheduleFn:
    return _exponential(learning_rate, transition_steps, decay_rate, staircase=True)


def _smooth(learning_rate: object, transition_steps: object, decay_rate: object) -> ScheduleFn:
    return _exponential(learning_rate, transition_steps, decay_rate, staircase=False)


def _cosine_factor(count: object, decay_steps: object, alpha: object) -> object:
    # optax.cosine_decay_schedule's factor (exponent 1).
    c = jnp.minimum(_f(count), decay_steps)
    return (1 - alpha) * 0.5 * (1 + jnp.cos(jnp.pi * c / decay_steps)) + alpha


def _cosine(learning_rate: object, decay_steps: object, alpha: object) -> ScheduleFn:
    return lambda count: learning_rate * _cosine_factor(count, decay_steps, alpha)


def _linear(init: object, end: object, count: object, steps: object) -> object:
    # optax.linear_schedule (polynomial, power 1); steps <= 0 gives ``init`` as optax does.
    safe = jnp.maximum(steps, 1.0)
    frac = 1 - jnp.clip(_f(count), 0, safe) / safe
    return jnp.where(steps > 0, (init - end) * frac + end, init)


def _warmup_cosine(
    learning_rate: object,
    init_value: object,
    warmup_steps: object,
    decay_steps: object,
    end_value: object,
) -> ScheduleFn:
    # optax.warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps,
    # end_value): linear warmup, then cosine from the peak to end_value over
    # decay_steps - warmup_steps (joined at warmup_steps, as optax.join_schedules does).
    alpha = jnp.where(learning_rate == 0.0, 0.0, end_value / learning_rate)

    def schedule(count: object) -> object:
        warm = _linear(init_value, learning_rate, count, warmup_steps)
        cos = learning_rate * _cosine_factor(
            _f(count) - warmup_steps, decay_steps - warmup_steps, alpha
        )
        return jnp.where(_f(count) < warmup_steps, warm, cos)

    return schedule


def _warmup_rsqrt(learning_rate: object, init_value: object, warmup_steps: object) -> ScheduleFn:
    # optax has no inverse-square-root schedule: optax.linear_schedule(init_value, peak,
    # warmup_steps) joined at warmup_steps with peak * sqrt(warmup_steps / count) ("Noam" /
    # Vaswani et al. 2017 without the model-size factor). Continuous at the join.
    def schedule(count: object) -> object:
        warm = _linear(init_value, learning_rate, count, warmup_steps)
        decay = learning_rate * jnp.sqrt(
            jnp.maximum(warmup_steps, 1.0) / jnp.maximum(_f(count), 1.0)
        )
        return jnp.where(_f(count) < warmup_steps, warm, jnp.minimum(decay, learning_rate))

    return schedule


def _one_cycle(
    learning_rate: object,
    transition_steps: object,
    pct_start: object,
    div_factor: object,
    final_div_factor: object,
) -> ScheduleFn:
    # optax.cosine_onecycle_schedule(transition_steps, peak_value, pct_start, div_factor,
    # final_div_factor): a piecewise cosine interpolation from peak / div_factor up to the peak
    # at floor(pct_start * transition_steps), then down to peak / (div_factor *
    # final_div_factor) at transition_steps (optax.piecewise_interpolate_schedule).
    b1 = jnp.floor(pct_start * transition_steps)
    b2 = jnp.floor(transition_steps)
    v0 = learning_rate / div_factor
    v1 = learning_rate
    v2 = learning_rate / (div_factor * final_div_factor)

    def cos(start: object, end: object, pct: object) -> object:
        return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)

    def schedule(count: object) -> object:
        c = _f(count)
        up = cos(v0, v1, c / jnp.maximum(b1, 1.0))
        down = cos(v1, v2, (c - b1) / jnp.maximum(b2 - b1, 1.0))
        first = (c >= 0) & (c < b1)
        second = (c >= b1) & (c < b2)
        return (
            jnp.where(first, up, 0.0) + jnp.where(second, down, 0.0) + jnp.where(c >= b2, v2, 0.0)
        )

    return schedule


def _count(name: str, default: float, doc: str) -> ParamSpec:
    return ParamSpec(name, default, 1, 10_000, integer=True, doc=doc)


_TRANSITION = _count("transition_steps", 50, "steps between two decays")
_DECAY_RATE = ParamSpec("decay_rate", 0.5, 1e-3, 1.0, doc="factor per transition_steps")
_DECAY_STEPS = _count("decay_steps", 200, "steps over which the rate decays")
_WARMUP = ParamSpec("warmup_steps", 20, 0, 10_000, integer=True, doc="steps of linear warmup")
_INIT = ParamSpec("init_value", 0.0, 0.0, 10.0, doc="learning rate at step 0 of the warmup")
_ALPHA = ParamSpec("alpha", 0.0, 0.0, 1.0, doc="final rate as a fraction of the peak")
_END = ParamSpec("end_value", 0.0, 0.0, 10.0, doc="learning rate at decay_steps")

SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in (
        Schedule("constant", "Constant", (), "constant_schedule", _constant, "η(t) = η"),
        Schedule(
            "step",
            "Step decay",
            (_TRANSITION, _DECAY_RATE),
            "exponential_decay(staircase=True)",
            _step,
            "η(t) = η · r^⌊t / T⌋",
        ),
        Schedule(
            "exponential",
            "Exponential decay",
            (_TRANSITION, _DECAY_RATE),
            "exponential_decay",
            _smooth,
            "η(t) = η · r^(t / T)",
        ),
        Schedule(
            "cosine",
            "Cosine decay",
            (_DECAY_STEPS, _ALPHA),
            "cosine_decay_schedule",
            _cosine,
            "η(t) = η · ((1 − α) ½(1 + cos(π min(t, T) / T)) + α)",
            lambda steps: {"decay_steps": float(steps)},
        ),
        Schedule(
            "warmup_cosine",
            "Warmup + cosine",
            (_INIT, _WARMUP, _DECAY_STEPS, _END),
            "warmup_cosine_decay_schedule",
            _warmup_cosine,
            "linear from η₀ to η over W steps, then cosine down to η_end at T",
            lambda steps: {"decay_steps": float(steps), "warmup_steps": float(max(1, steps // 10))},
        ),
        Schedule(
            "warmup_rsqrt",
            "Warmup + inverse √t",
            (_INIT, _WARMUP),
            "linear_schedule joined with η √(W / t)",
            _warmup_rsqrt,
            "linear from η₀ to η over W steps, then η √(W / t)",
            lambda steps: {"warmup_steps": float(max(1, steps // 10))},
        ),
        Schedule(
            "one_cycle",
            "One-cycle",
            (
                _count("transition_steps", 200, "length of the cycle"),
                ParamSpec("pct_start", 0.3, 0.0, 1.0, doc="fraction of the cycle spent rising"),
                ParamSpec("div_factor", 25.0, 1.0, 1e4, scale="log", doc="peak / starting rate"),
                ParamSpec("final_div_factor", 1e4, 1.0, 1e6, scale="log", doc="start / final rate"),
            ),
            "cosine_onecycle_schedule",
            _one_cycle,
            "cosine up from η / d to η, then down to η / (d · d_final)",
            lambda steps: {"transition_steps": float(steps)},
        ),
    )
}
"""Every schedule kind by its scene name, ``constant`` first."""


def schedule_values(
    name: str, learning_rate: float, values: Mapping[str, float], steps: int
) -> object:
    """``(steps,)`` learning rates of steps 0 .. steps - 1 (a jnp array; numpy via np.asarray)."""
    fn = SCHEDULES[name].make(
        jnp.float64(learning_rate), {k: jnp.float64(v) for k, v in values.items()}
    )
    return fn(jnp.arange(steps, dtype=jnp.float64))
