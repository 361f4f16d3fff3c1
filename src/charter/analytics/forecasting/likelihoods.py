"""DeepAR's likelihoods: projection heads from the LSTM output to a distribution, and its scaling.

Spec: specs/deepar.md, section 5 ("Likelihood heads"). Each head maps the hidden
state h to raw parameters; ``distribution(raw, scale)`` gives the distribution of
the *unscaled* target, so the loss is the negative log-likelihood of what was
observed and samples come out in the data's units. softplus(x) = log(1 + e^x).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Beta, Distribution, NegativeBinomial, Normal, StudentT

__all__ = ["LIKELIHOODS", "Likelihood", "likelihood"]

_EPS = 1e-6
softplus = nn.functional.softplus


class Likelihood:
    """How one noise model turns raw head outputs into a distribution (and back into values)."""

    name: str = ""
    params: int = 0
    scaled: bool = True  # does the target get divided by the series scale?

    def nll(self, raw: torch.Tensor, scale: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``target`` (unscaled), elementwise."""
        return -self.distribution(raw, scale).log_prob(self.support(target))

    def sample(self, raw: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.distribution(raw, scale).sample()

    def distribution(self, raw: torch.Tensor, scale: torch.Tensor) -> Distribution:
        raise NotImplementedError

    def support(self, target: torch.Tensor) -> torch.Tensor:
        """``target`` moved into the support where it is a valid point of it (unobserved points are masked)."""
        return target

    def check(self, values) -> str | None:
        """Why training data cannot come from this likelihood, or None."""
        return None


class Gaussian(Likelihood):
    """μ = wᵀh + b, σ = softplus(wᵀh + b); z ~ N(ν·μ, ν·σ)."""

    name, params = "gaussian", 2

    def distribution(self, raw, scale):
        return Normal(raw[..., 0] * scale, (softplus(raw[..., 1]) + _EPS) * scale, validate_args=False)

    def nll(self, raw, scale, target):
        # Written out: cheaper than the generic log_prob and the same number.
        sigma = (softplus(raw[..., 1]) + _EPS) * scale
        z = (target - raw[..., 0] * scale) / sigma
        return 0.5 * z * z + torch.log(sigma) + 0.5 * math.log(2 * math.pi)


class StudentT_(Likelihood):
    """μ, σ = softplus(·), degrees of freedom 2 + softplus(·); z ~ t_df(ν·μ, ν·σ)."""

    name, params = "student-T", 3

    def distribution(self, raw, scale):
        return StudentT(2.0 + softplus(raw[..., 2]), raw[..., 0] * scale, (softplus(raw[..., 1]) + _EPS) * scale,
                        validate_args=False)


class NegBinomial(Likelihood):
    """μ = softplus(·), shape α = softplus(·); mean ν·μ, shape α/√ν (the paper's scaling).

    P(z) = Γ(z + 1/α) / (Γ(z + 1) Γ(1/α)) · (1/(1 + αμ))^{1/α} · (αμ/(1 + αμ))^z; as torch's
    NegativeBinomial with total_count 1/α and logits log(αμ).
    """

    name, params = "negative-binomial", 2

    def distribution(self, raw, scale):
        mu = (softplus(raw[..., 0]) + _EPS) * scale
        alpha = (softplus(raw[..., 1]) + _EPS) / torch.sqrt(scale)
        return NegativeBinomial(total_count=1.0 / alpha, logits=torch.log(alpha * mu), validate_args=False)

    def support(self, target):
        return target.clamp(min=0.0).round()

    def check(self, values):
        if (values < 0).any():
            return "the negative-binomial likelihood needs non-negative targets (counts)"
        return None


class BetaL(Likelihood):
    """Concentrations a, b = softplus(·); z ~ Beta(a, b) on (0, 1), unscaled (Charter's choice, see spec)."""

    name, params, scaled = "beta", 2, False

    def distribution(self, raw, scale):
        return Beta(softplus(raw[..., 0]) + _EPS, softplus(raw[..., 1]) + _EPS, validate_args=False)

    def support(self, target):
        return target.clamp(_EPS, 1 - _EPS)

    def check(self, values):
        if ((values < 0) | (values > 1)).any():
            return "the beta likelihood needs targets in [0, 1]"
        return None


class _PointMass(Distribution):
    arg_constraints: dict = {}

    def __init__(self, value):
        self.value = value
        super().__init__(batch_shape=value.shape, validate_args=False)

    @property
    def mean(self):
        return self.value

    def sample(self, sample_shape=torch.Size()):
        return self.value.expand(*sample_shape, *self.value.shape).clone()


class DeterministicL1(Likelihood):
    """One output ŷ; loss |z/ν − ŷ| on the scaled target; the forecast is ν·ŷ (no uncertainty)."""

    name, params = "deterministic-L1", 1

    def distribution(self, raw, scale):
        return _PointMass(raw[..., 0] * scale)

    def nll(self, raw, scale, target):
        return (target / scale - raw[..., 0]).abs()


LIKELIHOODS: dict[str, type[Likelihood]] = {
    cls.name: cls for cls in (Gaussian, StudentT_, NegBinomial, BetaL, DeterministicL1)
}


def likelihood(name: str) -> Likelihood:
    try:
        return LIKELIHOODS[name]()
    except KeyError:
        raise ValueError(f"likelihood {name!r} is not one of {', '.join(LIKELIHOODS)}") from None
