"""The networks of the multi-cluster family's local policy: the causal belief encoder (spec §7.1 [R]) and
the generalized Transformer Q network (spec §7.2 [R]), plus the belief model any agent can load from an
`sl_encoder` or `cluster_dqn` training run.

Encoder: per person, a GRU over the daily history rows; at row t it outputs logits of P(infectious on
t-2 .. t+2). A recurrent net reads rows in order, so row t's output never depends on a later row.
Q network: each member's token (cluster_features.tokens) -> linear -> Transformer encoder over the
members (no positional encoding: members form a set; padding masked) -> MLP -> (Q_none, Q_test).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from epictl.agents.cluster_features import BELIEF_OFFSETS, FEATURES, TOKEN_SIZE, split_slots, stack_slots
from epictl.agents.torch_device import resolve_device
from epictl.agents.torch_files import checkpoint_path, load_checkpoint
from epictl.errors import EpictlError

NONE, TEST = 0, 1  # Q network outputs per token


class BeliefEncoder(nn.Module):
    """[P, T, F] rows of P persons -> [P, T, 5] logits of P(infectious on t-2 .. t+2) at each row t."""

    def __init__(self, hidden: int):
        super().__init__()
        self.gru = nn.GRU(FEATURES, hidden, batch_first=True)
        self.head = nn.Linear(hidden, len(BELIEF_OFFSETS))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(rows)[0])


def member_logits(encoder: BeliefEncoder, history: torch.Tensor, members: torch.Tensor, last_row: int):
    """Encoder logits [P, last_row + 1, 5] of every member (slot index [P], person index [P]); only members
    are run (about half of the 39 places are padding)."""
    slot, person = members.nonzero(as_tuple=True)
    return encoder(history[slot, person, : last_row + 1]), slot, person


def beliefs_at(encoder: BeliefEncoder, history: torch.Tensor, day: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    """[K, M, 5] P(infectious on t-2 .. t+2) from each slot's row t = day (0 for non-members)."""
    out = history.new_zeros((*members.shape, len(BELIEF_OFFSETS)))
    if not members.any():
        return out
    logits, slot, person = member_logits(encoder, history, members, int(day[members.any(dim=1)].max()))
    out[slot, person] = torch.sigmoid(logits[torch.arange(len(slot), device=logits.device), day[slot]])
    return out


def belief_loss(logits: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Mean BCE of logits [P, T, 5] against the true infectious flags labels [P, D] of days t-2 .. t+2, over
    the rows t marked in ``rows`` [P, T] and the days inside 0 .. D-1."""
    t = torch.arange(logits.shape[1], device=logits.device)
    days = t[:, None] + torch.tensor(BELIEF_OFFSETS, device=logits.device)  # [T, 5]
    inside = (days >= 0) & (days < labels.shape[1])
    targets = labels.to(logits)[:, days.clamp(0, labels.shape[1] - 1)]  # [P, T, 5]
    weight = (rows[:, :, None] & inside).to(logits)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, targets, weight=weight, reduction="sum")
    return loss / weight.sum().clamp(min=1.0)


class QNetwork(nn.Module):
    """[B, M, 26] tokens and [B, M] members -> [B, M, 2] (Q_none, Q_test) per token."""

    def __init__(self, d_model: int, layers: int, heads: int, feedforward: int, head_hidden: int):
        super().__init__()
        self.embed = nn.Linear(TOKEN_SIZE, d_model)
        # No dropout (a DQN; train and eval modes then compute the same function). Nested tensors (torch's
        # prototype) would only skip padding in evaluation.
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(d_model, head_hidden), nn.ReLU(), nn.Linear(head_hidden, 2))
        # Q starts at 0 [ours]: a day's costs are ~1/N per member, far below a random layer's outputs, whose
        # max over the two actions would seed every bootstrap with a positive bias and dQ with noise.
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, tokens: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        members = members.bool()
        # A slot without members attends to its zero tokens instead of to nothing (which gives NaN).
        padding = ~members & members.any(dim=1, keepdim=True)
        return self.head(self.encoder(self.embed(tokens), src_key_padding_mask=padding))


def as_device(device) -> torch.device:
    return device if isinstance(device, torch.device) else resolve_device(device)


def observation_tensors(observation: dict, device: torch.device):
    """(history [K, M, D, F], day [K], members [K, M] bool) of an observation, on ``device``."""
    history = torch.as_tensor(np.asarray(observation["history"], np.float32), device=device)
    day = torch.as_tensor(np.asarray(observation["day"], np.int64), device=device)
    members = torch.as_tensor(np.asarray(observation["members"]) > 0, device=device)
    return history, day, members


class BeliefModel:
    """The SL beliefs of an observation from a trained encoder (evaluation: no gradients)."""

    def __init__(self, encoder: BeliefEncoder, device):
        self.device = as_device(device)
        self.encoder = encoder.to(self.device)

    @torch.no_grad()
    def beliefs(self, observation: dict) -> np.ndarray:
        """float32 [K, M, 5]: P(infectious on t-2 .. t+2) per member at each slot's day t (0 elsewhere)."""
        return beliefs_at(self.encoder, *observation_tensors(observation, self.device)).cpu().numpy()

    def beliefs_of(self, observations: list[dict]) -> list[np.ndarray]:
        """beliefs() of several observations (env copies), all in one encoder pass."""
        return split_slots(self.beliefs(stack_slots(observations)), observations)


def encoder_from_state(state, source) -> BeliefEncoder:
    """The belief encoder in an sl_encoder or cluster_dqn agent state (``shape`` names its size)."""
    try:
        encoder = BeliefEncoder(int(state["shape"]["encoder_hidden"]))
        encoder.load_state_dict(state["encoder"])
    except Exception:  # another agent's state, a foreign file, another encoder size
        raise EpictlError(f"{source}: holds no belief encoder (train agent=sl_encoder or agent=cluster_dqn)") from None
    return encoder.eval()


def load_beliefs(run_dir, device="auto") -> BeliefModel:
    """The belief encoder of an `sl_encoder` or `cluster_dqn` training run (its checkpoints/last.pt)."""
    return BeliefModel(encoder_from_state(load_checkpoint(run_dir)["agent"], checkpoint_path(run_dir)), device)
