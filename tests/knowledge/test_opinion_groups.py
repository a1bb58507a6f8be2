"""Opinion groups on synthetic vote matrices whose groups are known in advance."""

from __future__ import annotations

import random

from knowledge.opinion_groups import analyse

STATEMENTS = [1, 2, 3, 4, 5, 6]
LEFT = {1: 1, 2: 1, 3: 1, 4: -1, 5: -1, 6: 1}
RIGHT = {1: -1, 2: -1, 3: 0, 4: 1, 5: 1, 6: 1}


def _votes(groups: dict[int, dict[int, int]], seed: int = 7) -> list[tuple[int, int, int]]:
    """Each resident votes their group's stance on about 85% of the statements."""
    rng = random.Random(seed)
    return [
        (resident, statement, value)
        for resident, stance in groups.items()
        for statement, value in stance.items()
        if rng.random() < 0.85
    ]


def test_two_known_groups_are_found_with_what_sets_them_apart() -> None:
    left = set(range(1, 10))
    right = set(range(100, 107))
    votes = _votes({**dict.fromkeys(left, LEFT), **dict.fromkeys(right, RIGHT)})
    found = analyse(STATEMENTS, votes)
    assert found.participants == 16
    assert [set(g.members) for g in found.groups] == [left, right]  # the larger group first
    assert found.consensus == (6,)
    first, second = found.groups
    assert {s for s, _, _ in first.agrees} <= {1, 2, 3}
    assert {s for s, _, _ in first.disagrees} <= {4, 5}
    assert {s for s, _, _ in second.agrees} == {4, 5}
    for _, here, others in first.agrees:
        assert here > 0.8 and others < 0.2


def test_no_groups_when_everyone_votes_alike_or_too_few_take_part() -> None:
    alike = _votes(dict.fromkeys(range(1, 12), LEFT))
    found = analyse(STATEMENTS, alike)
    assert found.groups == () and 6 in found.consensus and 1 in found.consensus
    few = _votes({1: LEFT, 2: RIGHT, 3: LEFT})
    assert analyse(STATEMENTS, few).groups == ()
    assert analyse(STATEMENTS, []).participants == 0


def test_counts_per_statement() -> None:
    found = analyse([1, 2], [(1, 1, 1), (2, 1, -1), (3, 1, 0), (1, 2, 1), (9, 99, 1)])
    stats = {s.id: s for s in found.stats}
    assert (stats[1].agree, stats[1].disagree, stats[1].passed, stats[1].seen) == (1, 1, 1, 3)
    assert stats[2].agree_share == 1.0 and found.participants == 3  # statement 99 is not ours
