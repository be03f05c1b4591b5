"""Running normaliser, actor-critic shapes/init/std, GRU hidden-state handling, minibatch generators,
correlated exploration noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.configs import ConfigError
from rl.models import (
    ActorCritic,
    ModelConfig,
    RecurrentActorCritic,
    build_model,
    correlated_noise,
    gaussian_log_prob,
)
from rl.normalizer import RunningMeanStd
from rl.storage import RolloutStorage

SMALL = ModelConfig(actor_hidden=(16, 16), critic_hidden=(16,), rnn_hidden=8)


def test_normalizer_matches_numpy_over_uneven_batches() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(loc=[3.0, -2.0, 100.0], scale=[0.1, 5.0, 20.0], size=(1000, 3))
    norm = RunningMeanStd(3, eps=1e-12)
    for chunk in np.split(data, [1, 7, 300, 301, 650]):
        norm.update(torch.as_tensor(chunk, dtype=torch.float32))
    np.testing.assert_allclose(
        norm.mean.numpy(), data.astype(np.float32).mean(0), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(norm.var.numpy(), data.astype(np.float32).var(0), rtol=1e-5)
    out = norm(torch.as_tensor(data, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-4)
    # state_dict round trip, and clipping
    other = RunningMeanStd(3, clip=1.0)
    other.load_state_dict(norm.state_dict())
    assert torch.equal(other.mean, norm.mean) and other.count.item() == pytest.approx(
        1000, abs=1e-6
    )
    assert other(torch.tensor([[1e6, 1e6, 1e6]])).tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="expected last dim 3"):
        norm.update(torch.zeros(2, 4))


def test_actor_critic_shapes_init_and_std() -> None:
    gen = torch.Generator().manual_seed(0)
    model = ActorCritic(5, 7, 3, SMALL, gen)
    obs, cobs = torch.randn(4, 5), torch.randn(4, 7)
    mu, sigma, value, hidden = model.act_step(obs, cobs, None)
    assert mu.shape == (4, 3) and sigma.shape == (4, 3) and value.shape == (4,) and hidden is None
    assert mu.abs().max() < 0.2  # small last-layer gain: near-zero initial mean action
    assert torch.allclose(sigma, torch.ones(4, 3))
    assert any(p is model.log_std for p in model.parameters())  # learned std
    # evaluate accepts any leading dims
    mu2, _, v2 = model.evaluate(obs[None].repeat(2, 1, 1), cobs[None].repeat(2, 1, 1))
    assert mu2.shape == (2, 4, 3) and v2.shape == (2, 4)
    # same seed, same weights
    again = ActorCritic(5, 7, 3, SMALL, torch.Generator().manual_seed(0))
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values())
    )
    # scheduled std: a buffer, set by the runner
    sched = ActorCritic(
        5, 7, 3, ModelConfig(std_mode="scheduled", actor_hidden=(8,), critic_hidden=(8,))
    )
    assert all(p is not sched.log_std for p in sched.parameters())
    sched.set_std(0.3)
    assert torch.allclose(sched.std, torch.full((3,), 0.3))


def _recurrent_rollout(model: RecurrentActorCritic, T: int, N: int, seed: int) -> RolloutStorage:
    """A rollout with random obs and episode ends, done exactly like OnPolicyRunner._rollout."""
    gen = torch.Generator().manual_seed(seed)
    hidden = model.init_hidden(N)
    st = RolloutStorage(
        T, N, model.num_obs, model.num_critic_obs, model.num_actions, tuple(hidden.shape)
    )
    hidden = torch.randn(
        hidden.shape, generator=gen
    )  # a state carried over from a previous rollout
    with torch.inference_mode():
        for _ in range(T):
            obs = torch.randn(N, model.num_obs, generator=gen)
            cobs = torch.randn(N, model.num_critic_obs, generator=gen)
            mu, sigma, v, new_hidden = model.act_step(obs, cobs, hidden)
            a = mu + sigma * torch.randn(mu.shape, generator=gen)
            term = torch.rand(N, generator=gen) < 0.15
            trunc = (torch.rand(N, generator=gen) < 0.1) & ~term
            st.add(
                obs,
                cobs,
                a,
                gaussian_log_prob(a, mu, sigma),
                mu,
                sigma,
                v,
                torch.zeros(N),
                term,
                trunc,
                torch.zeros(N),
                hidden,
            )
            hidden = model.reset_hidden(new_hidden, term | trunc)
    st.compute_returns(torch.zeros(N), 0.99, 0.95)
    return st


def test_gru_replay_recomputes_rollout_log_probs() -> None:
    gen = torch.Generator().manual_seed(0)
    model = build_model(3, 4, 2, ModelConfig(**{**SMALL.__dict__, "recurrent": True}), gen)
    assert isinstance(model, RecurrentActorCritic)
    st = _recurrent_rollout(model, T=12, N=6, seed=1)
    assert st.episode_starts().any()  # the test data has resets inside the sequences
    seen = torch.zeros(6, dtype=torch.int64)
    for batch in st.sequence_minibatches(3, st.advantages, torch.Generator().manual_seed(0)):
        mu, sigma, values = model.evaluate(
            batch.obs, batch.critic_obs, batch.hidden0, batch.episode_starts
        )
        assert mu.shape == (12, 2, 2)
        logp = gaussian_log_prob(batch.actions, mu, sigma)
        assert torch.allclose(logp, batch.old_log_probs, atol=1e-5)
        assert torch.allclose(values, batch.old_values, atol=1e-5)
        for row in batch.obs[0]:  # which env each sequence came from (obs are unique random draws)
            seen[(st.obs[0] == row).all(-1)] += 1
    assert seen.tolist() == [1] * 6  # every env sequence exactly once per epoch
    # without the resets the replay would differ: the test can see a wrong implementation
    mu_wrong, _, _ = model.evaluate(st.obs, st.critic_obs, st.hidden0, None)
    assert not torch.allclose(
        gaussian_log_prob(st.actions, mu_wrong, st.sigma), st.log_probs, atol=1e-5
    )


def test_reset_hidden_zeroes_only_done_envs() -> None:
    h = torch.ones(2, 1, 3, 4)
    out = RecurrentActorCritic.reset_hidden(h, torch.tensor([False, True, False]))
    assert out[:, :, 1].abs().sum() == 0 and out[:, :, [0, 2]].eq(1).all()


def test_flat_minibatches_cover_every_sample_once() -> None:
    model = ActorCritic(2, 2, 1, SMALL)
    T, N = 4, 6
    st = RolloutStorage(T, N, 2, 2, 1)
    for t in range(T):
        ids = torch.arange(N, dtype=torch.float32) + 100 * t
        st.add(
            ids[:, None].repeat(1, 2),
            torch.zeros(N, 2),
            torch.zeros(N, 1),
            torch.zeros(N),
            torch.zeros(N, 1),
            torch.ones(N, 1),
            torch.zeros(N),
            torch.zeros(N),
            torch.zeros(N, dtype=torch.bool),
            torch.zeros(N, dtype=torch.bool),
            torch.zeros(N),
        )
    st.compute_returns(torch.zeros(N), 0.9, 0.9)
    got = torch.cat(
        [b.obs[:, 0] for b in st.minibatches(4, st.advantages, torch.Generator().manual_seed(0))]
    )
    assert sorted(got.tolist()) == sorted(st.obs[..., 0].flatten().tolist())
    with pytest.raises(RuntimeError, match="buffer full"):
        st.add(*[torch.zeros(0)] * 11)
    assert model.init_hidden(3) is None


def test_correlated_noise_is_standard_normal_with_lag_correlation_c() -> None:
    gen = torch.Generator().manual_seed(0)
    c, n, steps = 0.8, 20000, 12
    noise = torch.randn(n, 2, generator=gen)
    trace = [noise]
    for _ in range(steps):
        noise = correlated_noise(noise, torch.randn(n, 2, generator=gen), c, None)
        trace.append(noise)
    x = torch.stack(trace)  # [T, n, 2]
    assert torch.allclose(x.var(dim=1), torch.ones(steps + 1, 2), atol=0.04)
    for lag in (1, 3):
        corr = (x[lag:] * x[:-lag]).mean(dim=(1, 2))
        assert torch.allclose(corr, torch.full_like(corr, c**lag), atol=0.03)
    # White noise: the fresh draws themselves.
    fresh = torch.randn(4, 2, generator=gen)
    assert correlated_noise(x[-1, :4], fresh, 0.0, None) is fresh


def test_correlated_noise_restarts_the_envs_whose_episode_began() -> None:
    prev, fresh = torch.full((3, 2), 2.0), torch.full((3, 2), -1.0)
    out = correlated_noise(prev, fresh, 0.6, torch.tensor([False, True, False]))
    assert torch.equal(out[1], fresh[1])
    assert torch.allclose(out[[0, 2]], torch.full((2, 2), 0.6 * 2.0 - 0.8))


def test_noise_correlation_outside_0_1_is_a_config_error() -> None:
    for c in (-0.1, 1.0):
        with pytest.raises(ConfigError, match="model.noise_correlation"):
            ModelConfig(noise_correlation=c)
