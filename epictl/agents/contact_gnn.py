"""The networks of IDRLECA (spec papw-contact-tracing.md §11.2-§11.3): the Individual Contact GNN over the bipartite
graph people <-> areas, its per-person MLP ablation (RL-NoGraph), and the actor and critic heads.

Edges: the last ``slices`` x 7 hours of the visit history, oldest slice first; slice k is the sparse person x
class count matrix W_k over A + 1 classes (the A areas, then hospital/isolation for location -1; -2, before day
0, is no visit). No person x person matrix is ever built: messages go people -> areas -> people.

    h0  = BN(Dense(x))
    a_k = BN(ReLU(Dense(alpha_k^T h_{k-1})))      alpha_k = softmax of W_k over each area's nonzero entries
    h_k = BN(ReLU(Dense(alpha_k a_k)))            (row_softmax: W_k's softmax over each person's entries)

BN here normalises each day's people (or areas) by that day's own statistics, at act time and in PPO updates
alike [epictl]: the log-probabilities of a stored day are then reproduced exactly when the rollout is replayed,
and no running statistics depend on how many days were batched. Tensors are [days, people or places, width].
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HOURS_PER_SLICE = 7  # one half of a 14-hour day [idr]
HOSPITAL_LOCATION = -1  # hospital / isolation in the visit history (its own class, after the areas)
NO_RECORD = -2  # before day 0
ACTION_LEVELS = 4  # q1..q4: none, confine, quarantine, isolate (spec §11.4)
NORM_EPS = 1e-3  # [epictl: Keras' BatchNormalization default, the framework of idr]


class SliceEdges(NamedTuple):
    """The nonzero entries of one day's W_1..W_K, slice after slice: ``bounds[k]:bounds[k+1]`` is slice k."""

    person: np.ndarray  # int32
    place: np.ndarray  # int16 class: area id, or A for hospital/isolation
    hours: np.ndarray  # uint8 hours spent there in the slice (1..7)
    bounds: np.ndarray  # int64 [K + 1]


class SliceGraph(NamedTuple):
    """One slice of a batch of days: W_k's softmax weights as dense [days, places, N] and [days, N, places] tensors.
    A + 1 places are few, so a batched matrix product over them is the fast way to pass messages on a CPU (one
    10,000-person slice, forward and backward on one core: 0.6 ms, against 6.4 ms gathering and scattering the
    entries); still no person x person matrix."""

    to_places: torch.Tensor  # alpha_k^T: each visited place's row sums to 1 over its visitors
    to_people: torch.Tensor  # alpha_k (transpose), or the per-person softmax whose rows sum to 1 (row_softmax)


def slice_edges(visits: np.ndarray, areas: int, slices: int) -> SliceEdges:
    """W_1..W_K from the [N, 70] visit history: each person's hours per class in each 7-hour slice."""
    people = visits.shape[0]
    block = visits[:, visits.shape[1] - slices * HOURS_PER_SLICE:].astype(np.int16)
    block = np.where(block == HOSPITAL_LOCATION, areas, np.where(block == NO_RECORD, areas + 1, block))
    ordered = np.sort(block.reshape(people, slices, HOURS_PER_SLICE).transpose(1, 0, 2), axis=2)  # [K, N, 7]
    run_start = np.ones(ordered.shape, bool)
    run_start[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    starts = np.flatnonzero(run_start)  # every row starts a run, so runs never cross rows
    hours = np.diff(np.append(starts, ordered.size))
    place = ordered.ravel()[starts]
    kept = place <= areas  # drop the no-record sentinel
    starts, hours, place = starts[kept], hours[kept], place[kept]
    slice_of = starts // (people * HOURS_PER_SLICE)
    return SliceEdges(person=((starts // HOURS_PER_SLICE) % people).astype(np.int32), place=place.astype(np.int16),
                      hours=hours.astype(np.uint8),
                      bounds=np.searchsorted(slice_of, np.arange(slices + 1)).astype(np.int64))


def scatter_softmax(values: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Softmax of ``values`` within each group (torch only: max, exp, sum by index)."""
    top = values.new_full((n_groups,), -torch.inf).scatter_reduce(0, groups, values, "amax")
    weights = torch.exp(values - top[groups])
    return weights / values.new_zeros(n_groups).index_add(0, groups, weights)[groups]


def collate(days: list[SliceEdges], people: int, places: int, person_aggregation: str,
            device: torch.device) -> list[SliceGraph]:
    """The K slices of a batch of days: each slice's softmax weights over its entries, laid out dense."""
    graphs = []
    for k in range(len(days[0].bounds) - 1):
        parts = [(np.full(edges.bounds[k + 1] - edges.bounds[k], day, np.int64),
                  edges.person[edges.bounds[k]:edges.bounds[k + 1]].astype(np.int64),
                  edges.place[edges.bounds[k]:edges.bounds[k + 1]].astype(np.int64),
                  edges.hours[edges.bounds[k]:edges.bounds[k + 1]]) for day, edges in enumerate(days)]
        day, person, place, hours = (torch.as_tensor(np.concatenate(column), device=device) for column in zip(*parts))
        hours = hours.to(torch.float32)
        alpha = scatter_softmax(hours, day * places + place, len(days) * places)
        to_places = hours.new_zeros(len(days), places, people).index_put_((day, place, person), alpha)
        if person_aggregation == "transpose":
            to_people = to_places.transpose(1, 2)
        else:
            by_person = scatter_softmax(hours, day * people + person, len(days) * people)
            to_people = hours.new_zeros(len(days), people, places).index_put_((day, person, place), by_person)
        graphs.append(SliceGraph(to_places, to_people))
    return graphs


class PopulationNorm(nn.Module):
    """Batch normalisation over the set axis of [days, set, width]: each day by its own mean and variance."""

    def __init__(self, width: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        days, size, width = x.shape  # batch_norm of [set, days x width]: contiguous rows reduce fastest
        rows = x.transpose(0, 1).reshape(size, days * width)
        normed = F.batch_norm(rows, None, None, self.weight.repeat(days), self.bias.repeat(days), training=True,
                              eps=NORM_EPS)
        return normed.view(size, days, width).transpose(0, 1)


class DenseNorm(nn.Module):
    """BN(ReLU(Dense(x)))."""

    def __init__(self, inputs: int, width: int):
        super().__init__()
        self.dense, self.norm = nn.Linear(inputs, width), PopulationNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.dense(x)))


class ContactGnn(nn.Module):
    """[days, N, F] person features and the K slice graphs -> [days, N, width] person embeddings h_K."""

    def __init__(self, features: int, width: int, slices: int):
        super().__init__()
        self.embed, self.embed_norm = nn.Linear(features, width), PopulationNorm(width)
        self.place_layers = nn.ModuleList(DenseNorm(width, width) for _ in range(slices))  # people -> areas
        self.person_layers = nn.ModuleList(DenseNorm(width, width) for _ in range(slices))  # areas -> people

    def forward(self, x: torch.Tensor, graphs: list[SliceGraph]) -> torch.Tensor:
        h = self.embed_norm(self.embed(x))
        for graph, place_layer, person_layer in zip(graphs, self.place_layers, self.person_layers):
            a = place_layer(torch.bmm(graph.to_places, h))
            h = person_layer(torch.bmm(graph.to_people, a))
        return h


class PersonMlp(nn.Module):
    """RL-NoGraph: the GNN's depth (embedding, then two layers a slice) on each person alone; no edges."""

    def __init__(self, features: int, width: int, slices: int):
        super().__init__()
        self.embed, self.embed_norm = nn.Linear(features, width), PopulationNorm(width)
        self.layers = nn.Sequential(*(DenseNorm(width, width) for _ in range(2 * slices)))

    def forward(self, x: torch.Tensor, graphs: list[SliceGraph] | None) -> torch.Tensor:
        return self.layers(self.embed_norm(self.embed(x)))


def encoder(kind: str, features: int, width: int, slices: int) -> nn.Module:
    return ContactGnn(features, width, slices) if kind == "graph" else PersonMlp(features, width, slices)


class Actor(nn.Module):
    """Per person Dense(4) on h_K: log (q1, q2, q3, q4), [days, N, 4]."""

    def __init__(self, body: nn.Module, width: int):
        super().__init__()
        self.body, self.head = body, nn.Linear(width, ACTION_LEVELS)
        nn.init.orthogonal_(self.head.weight, 0.01)  # near-uniform q at the start [epictl: CleanRL's actor init]
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, graphs: list[SliceGraph] | None) -> torch.Tensor:
        return torch.log_softmax(self.head(self.body(x, graphs)), dim=-1)


class Critic(nn.Module):
    """Mean over people of h_K -> Dense -> ReLU -> Dense(1): V, [days]."""

    def __init__(self, body: nn.Module, width: int):
        super().__init__()
        self.body = body
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, graphs: list[SliceGraph] | None) -> torch.Tensor:
        return self.head(self.body(x, graphs).mean(dim=1)).squeeze(-1)


def synthetic_visits(people: int, areas: int, rng: np.random.Generator) -> np.ndarray:
    """Five weekdays of home / work / home days (spec §3), a few people in hospital: a bench input."""
    history = np.empty((people, 5, 14), np.int16)
    home = rng.integers(0, max(areas // 2, 1), people)
    work = rng.integers(max(areas // 2, 1), areas, people)
    hour = np.arange(14)
    start = rng.integers(1, 4, (people, 5, 1))
    leave = start + rng.integers(7, 11, (people, 5, 1))
    history[:] = np.where((hour >= start) & (hour < leave), work[:, None, None], home[:, None, None])
    history[rng.random(people) < 0.01] = HOSPITAL_LOCATION
    return history.reshape(people, 70)


def forward_seconds(people: int = 10_000, areas: int = 11, slices: int = 2, width: int = 32,
                    encoder_kind: str = "graph", repeats: int = 20, seed: int = 0) -> float:
    """Median seconds of one decision's network work on a synthetic city: the edges from the visit history,
    their softmax weights, and the actor and critic passes (not the infection-probability estimate)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    visits = synthetic_visits(people, areas, rng)
    x = torch.as_tensor(rng.random((1, people, 10), dtype=np.float32))
    actor = Actor(encoder(encoder_kind, 10, width, slices), width)
    critic = Critic(encoder(encoder_kind, 10, width, slices), width)
    seconds = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first pass warms up allocators and is dropped
            begin = time.perf_counter()
            graphs = (collate([slice_edges(visits, areas, slices)], people, areas + 1, "transpose", torch.device("cpu"))
                      if encoder_kind == "graph" else None)
            actor(x, graphs), critic(x, graphs)
            seconds.append(time.perf_counter() - begin)
    return float(np.median(seconds[1:]))
