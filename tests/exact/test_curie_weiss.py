import numpy as np
import pytest

import netket_arnn as na


def test_closed_form_is_finite_and_smooth_at_a_million_spins():
    n = 10**6
    betas = np.linspace(0.5, 1.5, 41)
    results = [na.exact.curie_weiss_closed_form(n, b, h=0.01) for b in betas]
    f = np.array([r.free_energy for r in results])
    assert np.all(np.isfinite(f)) and np.all(np.isfinite([r.energy for r in results]))
    # Thermodynamic identity d(βf)/dβ = e, by central differences far finer than the
    # N^{-1/2} crossover width: the closed form keeps full precision at this N.
    step = 1e-6
    for beta, r in zip(betas[::4], results[::4]):
        up, down = (na.exact.curie_weiss_closed_form(n, beta + s, h=0.01) for s in (step, -step))
        slope = ((beta + step) * up.free_energy - (beta - step) * down.free_energy) / (2 * step)
        assert slope == pytest.approx(r.energy, abs=1e-6)


@pytest.mark.parametrize("beta, h", [(0.5, 0.0), (1.3, 0.0), (2.0, 0.1), (0.9, -0.3)])
def test_finite_n_converges_to_mean_field(beta, h):
    inf = na.exact.curie_weiss_thermo_limit(beta, h=h)
    errors = [
        abs(na.exact.curie_weiss_closed_form(n, beta, h=h).free_energy - inf.free_energy) for n in (10**3, 10**4, 10**5)
    ]
    # Corrections are O(log N / N): each decade shrinks the gap by a large factor.
    assert errors[1] < errors[0] / 5 and errors[2] < errors[1] / 5
    assert errors[2] < 1e-3
    m = na.exact.curie_weiss_closed_form(10**6, beta, h=h).abs_magnetization
    assert m == pytest.approx(inf.abs_magnetization, abs=0.01)


def test_mean_field_magnetisation_solves_self_consistency():
    for beta in (0.5, 1.0, 1.01, 1.5, 3.0):
        sol = na.exact.curie_weiss_thermo_limit(beta)
        m = sol.abs_magnetization
        assert m == pytest.approx(np.tanh(beta * m), abs=1e-12)
        assert (m > 1e-3) == (beta > 1.001)
    # With a field the stable branch is aligned with it.
    assert (
        na.exact.curie_weiss_thermo_limit(1.5, h=0.05).abs_magnetization
        > na.exact.curie_weiss_thermo_limit(1.5).abs_magnetization
    )


def test_high_temperature_limit():
    # β → 0: f → -log 2 / β, s → log 2, e → 0 at h = 0.
    r = na.exact.curie_weiss_closed_form(500, 1e-4)
    assert r.entropy == pytest.approx(np.log(2), rel=1e-6)
    assert abs(r.energy) < 1e-3
