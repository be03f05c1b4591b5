"""Actor-critic networks: MLP (asymmetric inputs) and GRU-recurrent variants, plus the export module.

Shapes: N envs (or samples), O actor obs dim, C critic obs dim, A action dim, T time steps,
L GRU layers, Hd GRU hidden size. The policy is a diagonal Gaussian ``N(mu(obs), sigma)`` with a
state-independent sigma (learned log-std, or a scheduled value set by the runner).

Observation normalisers live inside the model (``obs_normalizer``, ``critic_obs_normalizer``) so
they are saved and exported with it, but they are *applied by the caller*: the runner normalises
observations once, stores the normalised values in the rollout and feeds those to ``act_step`` and
``evaluate``. Only ``PolicyExport`` (deployment) takes raw observations.

Recurrent hidden state: one tensor ``[2, L, N, Hd]`` (index 0 actor GRU, 1 critic GRU), zeroed for an
env when its episode ends. ``evaluate`` replays whole sequences from a stored initial state and the
episode-start flags, so it recomputes exactly the hidden states seen during the rollout.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from mocap import configs
from rl.normalizer import RunningMeanStd

ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass(frozen=True)
class ModelConfig:
    """Actor-critic architecture."""

    actor_hidden: tuple[int, ...] = (256, 128, 64)  # hidden layer widths of the actor MLP
    critic_hidden: tuple[int, ...] = (256, 128, 64)  # hidden layer widths of the critic MLP
    activation: Literal["elu", "relu", "tanh"] = "elu"  # hidden-layer nonlinearity
    init_std: float = 1.0  # initial action std (in normalised action units)
    std_mode: Literal["learned", "scheduled"] = "learned"  # learned log-std or runner-set std
    final_std: float = 0.2  # scheduled mode: std reached at the last iteration (linear)
    # Exploration noise correlated across policy steps (``correlated_noise``): each env's noise
    # is an AR(1) process with this coefficient, N(0, 1) at every step; 0 = white noise.
    # Correlation time ~ dt / (1 - c): 0.8 -> 5 policy steps (0.1 s at 50 Hz).
    noise_correlation: float = 0.0
    actor_out_gain: float = 0.01  # orthogonal-init gain of the actor's last layer
    critic_out_gain: float = 1.0  # orthogonal-init gain of the critic's last layer
    recurrent: bool = False  # put a GRU in front of the actor and critic MLPs
    rnn_hidden: int = 64  # GRU hidden size
    rnn_layers: int = 1  # GRU layers
    normalize_obs: bool = True  # running mean/std normalisation of actor and critic observations
    obs_clip: float = 10.0  # clip of normalised observations

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise_correlation < 1.0:
            raise configs.ConfigError(
                f"model.noise_correlation: must be in [0, 1), got {self.noise_correlation}"
            )


def mlp(
    in_dim: int,
    hidden: tuple[int, ...],
    out_dim: int,
    activation: str,
    out_gain: float,
    generator: torch.Generator | None,
) -> nn.Sequential:
    """MLP with orthogonal weights (gain sqrt(2) hidden, ``out_gain`` last) and zero biases."""
    layers: list[nn.Module] = []
    dims = (in_dim, *hidden)
    for a, b in itertools.pairwise(dims):
        lin = nn.Linear(a, b)
        nn.init.orthogonal_(lin.weight, gain=math.sqrt(2.0), generator=generator)
        nn.init.zeros_(lin.bias)
        layers += [lin, ACTIVATIONS[activation]()]
    last = nn.Linear(dims[-1], out_dim)
    nn.init.orthogonal_(last.weight, gain=out_gain, generator=generator)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


def _init_gru(gru: nn.GRU, generator: torch.Generator | None) -> None:
    for name, p in gru.named_parameters():
        if "weight" in name:
            for chunk in p.data.chunk(3, dim=0):  # reset, update, new gates
                nn.init.orthogonal_(chunk, generator=generator)
        else:
            nn.init.zeros_(p)


def gaussian_log_prob(actions: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Log density of a diagonal Gaussian, summed over the last axis: [...] from [..., A]."""
    var = sigma.square()
    return (
        -0.5 * (actions - mu).square() / var - torch.log(sigma) - 0.5 * math.log(2 * math.pi)
    ).sum(-1)


def correlated_noise(
    prev: torch.Tensor, fresh: torch.Tensor, correlation: float, restart: torch.Tensor | None
) -> torch.Tensor:
    """One step of per-env AR(1) exploration noise: ``c * prev + sqrt(1 - c^2) * fresh``.

    prev: [N, A] the noise of the step before (each entry N(0, 1)); fresh: [N, A] new N(0, 1)
    draws; restart: [N] bool, envs whose episode just began: they take ``fresh`` alone. Every
    entry stays N(0, 1), so the policy's Gaussian log-probability of ``mu + sigma * noise`` is
    that of the sampled action; consecutive steps correlate with ``c`` (lag k: ``c**k``).
    """
    if correlation == 0.0:
        return fresh
    out = correlation * prev + math.sqrt(1.0 - correlation * correlation) * fresh
    if restart is not None:
        out = torch.where(restart[:, None], fresh, out)
    return out


def gaussian_entropy(sigma: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian, summed over the last axis: [...] from [..., A]."""
    return (0.5 + 0.5 * math.log(2 * math.pi) + torch.log(sigma)).sum(-1)


class ActorCritic(nn.Module):
    """MLP actor ``mu(obs)`` and critic ``V(critic_obs)`` with a state-independent Gaussian std."""

    is_recurrent = False

    def __init__(
        self,
        num_obs: int,
        num_critic_obs: int,
        num_actions: int,
        cfg: ModelConfig = ModelConfig(),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_obs, self.num_critic_obs, self.num_actions = num_obs, num_critic_obs, num_actions
        self.obs_normalizer = RunningMeanStd(num_obs, clip=cfg.obs_clip)
        self.critic_obs_normalizer = RunningMeanStd(num_critic_obs, clip=cfg.obs_clip)
        actor_in, critic_in = self._mlp_inputs(generator)
        self.actor = mlp(
            actor_in, cfg.actor_hidden, num_actions, cfg.activation, cfg.actor_out_gain, generator
        )
        self.critic = mlp(
            critic_in, cfg.critic_hidden, 1, cfg.activation, cfg.critic_out_gain, generator
        )
        log_std = torch.full((num_actions,), math.log(cfg.init_std))
        if cfg.std_mode == "learned":
            self.log_std = nn.Parameter(log_std)
        else:
            self.register_buffer("log_std", log_std)

    def _mlp_inputs(self, generator: torch.Generator | None) -> tuple[int, int]:
        return self.num_obs, self.num_critic_obs

    # --- normalisation (applied by the caller) -------------------------------------------------
    def normalize(
        self, obs: torch.Tensor, critic_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised ``(obs, critic_obs)``; identity when ``cfg.normalize_obs`` is off."""
        if not self.cfg.normalize_obs:
            return obs, critic_obs
        return self.obs_normalizer(obs), self.critic_obs_normalizer(critic_obs)

    def normalize_critic(self, critic_obs: torch.Tensor) -> torch.Tensor:
        return self.critic_obs_normalizer(critic_obs) if self.cfg.normalize_obs else critic_obs

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor, critic_obs: torch.Tensor) -> None:
        """Merge raw observations into the running statistics (no-op when normalisation is off)."""
        if self.cfg.normalize_obs:
            self.obs_normalizer.update(obs)
            self.critic_obs_normalizer.update(critic_obs)

    # --- std --------------------------------------------------------------------------------------
    @property
    def std(self) -> torch.Tensor:
        """Action std [A]."""
        return self.log_std.exp()

    @torch.no_grad()
    def set_std(self, std: float) -> None:
        """Set every action std to ``std`` (the scheduled-std mode)."""
        self.log_std.fill_(math.log(std))

    # --- hidden state (none for the MLP) ------------------------------------------------------
    def init_hidden(self, num_envs: int, device: torch.device | str = "cpu") -> torch.Tensor | None:
        return None

    @staticmethod
    def reset_hidden(hidden: torch.Tensor | None, done: torch.Tensor) -> torch.Tensor | None:
        """Zero the hidden state of envs whose episode ended (``done [N]`` bool)."""
        if hidden is None:
            return None
        return hidden * (~done).to(hidden.dtype)[None, None, :, None]

    # --- acting and evaluation (normalised inputs) --------------------------------------------
    def act_step(
        self, obs: torch.Tensor, critic_obs: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One rollout step: ``(mu [N, A], sigma [N, A], value [N], new hidden)``."""
        mu = self.actor(obs)
        return mu, self.std.expand_as(mu), self.critic(critic_obs).squeeze(-1), hidden

    def value_step(self, critic_obs: torch.Tensor, hidden: torch.Tensor | None) -> torch.Tensor:
        """Value [N] of ``critic_obs`` given the current hidden state (state not advanced)."""
        return self.critic(critic_obs).squeeze(-1)

    def evaluate(
        self,
        obs: torch.Tensor,
        critic_obs: torch.Tensor,
        hidden0: torch.Tensor | None = None,
        episode_starts: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(mu [..., A], sigma [..., A], value [...])`` for a batch with any leading dims."""
        mu = self.actor(obs)
        return mu, self.std.expand_as(mu), self.critic(critic_obs).squeeze(-1)

    # --- export ---------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Plain (weights_only-loadable) description to rebuild this model."""
        return {
            "class": type(self).__name__,
            "num_obs": self.num_obs,
            "num_critic_obs": self.num_critic_obs,
            "num_actions": self.num_actions,
            "model_config": configs.to_dict(self.cfg),
        }

    def export_module(self) -> PolicyExport:
        """A CPU copy of actor + obs normaliser mapping raw obs to the deterministic action."""
        return PolicyExport(self)


class RecurrentActorCritic(ActorCritic):
    """A GRU in front of each of the actor and critic MLPs (separate memories)."""

    is_recurrent = True

    def _mlp_inputs(self, generator: torch.Generator | None) -> tuple[int, int]:
        c = self.cfg
        self.actor_rnn = nn.GRU(self.num_obs, c.rnn_hidden, c.rnn_layers)
        self.critic_rnn = nn.GRU(self.num_critic_obs, c.rnn_hidden, c.rnn_layers)
        _init_gru(self.actor_rnn, generator)
        _init_gru(self.critic_rnn, generator)
        return c.rnn_hidden, c.rnn_hidden

    def init_hidden(self, num_envs: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Zero hidden state [2, L, N, Hd]."""
        return torch.zeros(2, self.cfg.rnn_layers, num_envs, self.cfg.rnn_hidden, device=device)

    def act_step(
        self, obs: torch.Tensor, critic_obs: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if hidden is None:
            hidden = self.init_hidden(obs.shape[0], obs.device)
        out_a, h_a = self.actor_rnn(obs[None], hidden[0].contiguous())
        out_c, h_c = self.critic_rnn(critic_obs[None], hidden[1].contiguous())
        mu = self.actor(out_a[0])
        value = self.critic(out_c[0]).squeeze(-1)
        return mu, self.std.expand_as(mu), value, torch.stack((h_a, h_c))

    def value_step(self, critic_obs: torch.Tensor, hidden: torch.Tensor | None) -> torch.Tensor:
        if hidden is None:
            hidden = self.init_hidden(critic_obs.shape[0], critic_obs.device)
        out_c, _ = self.critic_rnn(critic_obs[None], hidden[1].contiguous())
        return self.critic(out_c[0]).squeeze(-1)

    def evaluate(
        self,
        obs: torch.Tensor,
        critic_obs: torch.Tensor,
        hidden0: torch.Tensor | None = None,
        episode_starts: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Replay sequences ``obs [T, B, O]`` from ``hidden0 [2, L, B, Hd]``.

        ``episode_starts [T, B]`` (bool) is True where step t begins a new episode (the previous
        step ended one); the hidden state is zeroed there, as in the rollout.
        """
        if obs.dim() != 3:
            raise ValueError(
                f"RecurrentActorCritic.evaluate: expected obs [T, B, O], got {tuple(obs.shape)}"
            )
        T, B = obs.shape[:2]
        h = self.init_hidden(B, obs.device) if hidden0 is None else hidden0
        mus, values = [], []
        for t in range(T):
            if episode_starts is not None:
                h = self.reset_hidden(h, episode_starts[t])
            mu, _, value, h = self.act_step(obs[t], critic_obs[t], h)
            mus.append(mu)
            values.append(value)
        mu = torch.stack(mus)
        return mu, self.std.expand_as(mu), torch.stack(values)


class PolicyExport(nn.Module):
    """Deployment policy: raw actor obs -> normalise -> (GRU) -> actor MLP -> mean action.

    MLP: ``forward(obs [N, O]) -> action [N, A]``. Recurrent:
    ``forward(obs [N, O], hidden [L, N, Hd]) -> (action [N, A], new hidden [L, N, Hd])``.
    """

    def __init__(self, model: ActorCritic) -> None:
        super().__init__()
        self.is_recurrent = model.is_recurrent
        self.normalize_obs = model.cfg.normalize_obs
        self.obs_normalizer = copy.deepcopy(model.obs_normalizer).cpu()
        self.actor = copy.deepcopy(model.actor).cpu()
        self.rnn = copy.deepcopy(model.actor_rnn).cpu() if model.is_recurrent else None
        self.eval()

    def forward(
        self, obs: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = self.obs_normalizer(obs) if self.normalize_obs else obs
        if self.rnn is None:
            return self.actor(x)
        out, h = self.rnn(x[None], hidden)
        return self.actor(out[0]), h


def build_model(
    num_obs: int,
    num_critic_obs: int,
    num_actions: int,
    cfg: ModelConfig,
    generator: torch.Generator | None = None,
) -> ActorCritic:
    """``RecurrentActorCritic`` when ``cfg.recurrent`` else ``ActorCritic``."""
    cls = RecurrentActorCritic if cfg.recurrent else ActorCritic
    return cls(num_obs, num_critic_obs, num_actions, cfg, generator)


def model_from_metadata(
    metadata: dict[str, Any], state_dict: dict[str, torch.Tensor]
) -> ActorCritic:
    """Rebuild a model saved by ``OnPolicyRunner.save_policy`` (metadata + state dict)."""
    cfg = configs.from_dict(ModelConfig, metadata["model_config"], "policy metadata.model_config")
    model = build_model(
        metadata["num_obs"], metadata["num_critic_obs"], metadata["num_actions"], cfg
    )
    model.load_state_dict(state_dict)
    return model
