"""Statement voting results (after Polis): which statements nearly everyone agrees with, and
the opinion groups in the votes, found by PCA and k-means (scikit-learn) on the
resident × statement matrix of agree (1) / disagree (−1) / pass or unseen (0)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_VOTES_PER_PERSON = 2  # fewer votes say too little about where someone stands
MIN_PEOPLE_FOR_GROUPS = 6
MAX_GROUPS = 4
MIN_SILHOUETTE = 0.25  # weaker structure than this is reported as "no clear groups"
CONSENSUS_SHARE = 0.6  # of those who saw a statement, overall
GROUP_CONSENSUS_SHARE = 0.5  # and at least this in every group
MIN_SEEN = 3
DISTINCT_GAP = 0.3  # a group's agreement differs from everyone else's by at least this
PER_GROUP = 2  # statements quoted per group


@dataclass(frozen=True, slots=True)
class StatementStat:
    """How residents voted on one statement."""

    id: int
    agree: int
    disagree: int
    passed: int

    @property
    def seen(self) -> int:
        """How many residents voted on it (passing included)."""
        return self.agree + self.disagree + self.passed

    @property
    def agree_share(self) -> float:
        """Share of those who saw it who agreed."""
        return self.agree / self.seen if self.seen else 0.0


@dataclass(frozen=True, slots=True)
class Group:
    """An opinion group: its members and what sets it apart, as (statement id, agreement in
    the group, agreement outside it); `agrees` are statements it backs more than the others,
    `disagrees` those it rejects more."""

    members: tuple[int, ...]
    agrees: tuple[tuple[int, float, float], ...] = ()
    disagrees: tuple[tuple[int, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Analysis:
    """The statement-voting result of a topic."""

    participants: int
    stats: tuple[StatementStat, ...]
    consensus: tuple[int, ...] = ()
    groups: tuple[Group, ...] = field(default_factory=tuple)


def analyse(statement_ids: Sequence[int], votes: Sequence[tuple[int, int, int]]) -> Analysis:
    """Analyse (resident, statement, value) votes on the given statements."""
    columns = {sid: j for j, sid in enumerate(statement_ids)}
    people = sorted({r for r, s, _ in votes if s in columns})
    rows = {r: i for i, r in enumerate(people)}
    matrix = np.zeros((len(people), len(columns)))
    seen = np.zeros_like(matrix, dtype=bool)
    for resident, statement, value in votes:
        if statement in columns:
            matrix[rows[resident], columns[statement]] = value
            seen[rows[resident], columns[statement]] = True
    stats = tuple(_stat(sid, matrix[:, j], seen[:, j]) for sid, j in columns.items())
    active = seen.sum(axis=1) >= MIN_VOTES_PER_PERSON
    labels = _cluster(_imputed(matrix[active], seen[active]))
    groups: list[Group] = []
    if labels is not None:
        members = np.array(people)[active]
        for label in sorted(set(labels), key=lambda k: (-(labels == k).sum(), k)):
            inside = labels == label
            groups.append(
                _describe(statement_ids, matrix[active], seen[active], inside, members[inside])
            )
        if not any(g.agrees or g.disagrees for g in groups):
            groups, labels = [], None  # groups that differ on nothing are not opinion groups
    consensus = tuple(
        stat.id
        for stat in sorted(stats, key=lambda s: -s.agree_share)
        if stat.seen >= MIN_SEEN
        and stat.agree_share >= CONSENSUS_SHARE
        and all(
            _share(
                matrix[active][labels == k, columns[stat.id]],
                seen[active][labels == k, columns[stat.id]],
                1,
            )
            >= GROUP_CONSENSUS_SHARE
            for k in (set(labels) if labels is not None else ())
        )
    )
    return Analysis(len(people), stats, consensus, tuple(groups))


def _stat(statement_id: int, column: np.ndarray, seen: np.ndarray) -> StatementStat:
    values = column[seen]
    return StatementStat(
        statement_id, int((values > 0).sum()), int((values < 0).sum()), int((values == 0).sum())
    )


def _imputed(matrix: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Unseen statements count as the average of those who saw them (as Polis does), so
    residents are not grouped by which statements they happened to see."""
    counts = seen.sum(axis=0)
    means = np.divide(
        (matrix * seen).sum(axis=0), counts, out=np.zeros(matrix.shape[1]), where=counts > 0
    )
    return np.where(seen, matrix, means)


def _cluster(matrix: np.ndarray) -> np.ndarray | None:
    """k-means labels on the first principal components, or None without clear groups."""
    # scikit-learn takes over a second to import: only the closing sweep and `topic show`
    # need it, so the chat service and `linli route` start without it.
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    people, statements = matrix.shape
    if people < MIN_PEOPLE_FOR_GROUPS or statements < 2 or np.allclose(matrix, matrix[0]):
        return None  # too few people or statements, or everyone voted alike: one group
    components = min(2, statements, people)
    points = PCA(n_components=components, svd_solver="full").fit_transform(matrix)
    best: tuple[float, np.ndarray] | None = None
    distinct = len(np.unique(points.round(6), axis=0))  # k-means needs k distinct points
    for k in range(2, min(MAX_GROUPS, people - 1, distinct) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)
        if len(set(labels)) < k:
            continue
        score = float(silhouette_score(points, labels))
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    if best is None or best[0] < MIN_SILHOUETTE:
        return None
    return best[1]


def _share(column: np.ndarray, seen: np.ndarray, sign: int) -> float:
    """Share of those who saw a statement who voted `sign` (smoothed: few votes count less)."""
    hits = float(((column * sign) > 0)[seen].sum())
    return (hits + 0.5) / (float(seen.sum()) + 1.0)


def _describe(
    statement_ids: Sequence[int],
    matrix: np.ndarray,
    seen: np.ndarray,
    inside: np.ndarray,
    members: np.ndarray,
) -> Group:
    agrees: list[tuple[float, tuple[int, float, float]]] = []
    disagrees: list[tuple[float, tuple[int, float, float]]] = []
    for j, sid in enumerate(statement_ids):
        for sign, found in ((1, agrees), (-1, disagrees)):
            here = _share(matrix[inside, j], seen[inside, j], sign)
            there = _share(matrix[~inside, j], seen[~inside, j], sign)
            if here - there >= DISTINCT_GAP and here > 0.5:
                found.append((here - there, (int(sid), round(here, 2), round(there, 2))))
    agrees.sort(key=lambda pair: -pair[0])
    disagrees.sort(key=lambda pair: -pair[0])
    return Group(
        tuple(int(m) for m in members),
        tuple(item for _, item in agrees[:PER_GROUP]),
        tuple(item for _, item in disagrees[:PER_GROUP]),
    )
