"""Decision rules of the deliberation hall: a simple majority of votes cast, or the Civil Code
art. 278 pattern for owners' matters.

Art. 278 asks for two things, each counted both by owners and by floor area: at least 2/3 of
the owners take part in the vote, then more than 1/2 of those who voted approve (3/4 for major
matters such as raising or spending the maintenance fund, or rebuilding). Linli SIMPLIFIES:
it counts people only — floor area (专有部分面积) is not modelled — and "eligible" means the
residents known to the bot in the topic's scope, not the official roll of owners. A result
under these rules is a consultation figure for staff and the owners' committee, not a legal
resolution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAJORITY, CC278, CC278_MAJOR = "majority", "civil-code-278", "civil-code-278-major"


def decide(
    rule: str, options: Sequence[str], counts: Sequence[int], *, eligible: int, participants: int
) -> dict[str, Any]:
    """The result of a topic from its vote counts (one per option, in option order)."""
    voters = sum(counts)
    eligible = max(eligible, participants, voters)  # someone who took part was eligible
    turnout_base = voters if options else participants
    result: dict[str, Any] = {
        "rule": rule,
        "eligible": eligible,
        "participants": participants,
        "voters": voters,
        "turnout": round(turnout_base / eligible, 4) if eligible else 0.0,
        "votes": {label: int(n) for label, n in zip(options, counts, strict=True)},
        "quorum_needed": None,
        "quorum_met": None,
        "winner": None,
        "share": None,
        "decided": False,
    }
    if not options:
        return result
    best = max(range(len(options)), key=lambda i: counts[i])
    tie = sum(1 for n in counts if n == counts[best]) > 1
    result["share"] = round(counts[best] / voters, 4) if voters else 0.0
    if rule == MAJORITY:
        approved = not tie and counts[best] * 2 > voters
    else:
        needed = -(-2 * eligible // 3)  # ceil(2/3 · eligible), in whole people
        result["quorum_needed"] = needed
        result["quorum_met"] = voters >= needed and voters > 0
        if rule == CC278_MAJOR:
            approved = bool(result["quorum_met"]) and counts[best] * 4 >= voters * 3
        else:
            approved = bool(result["quorum_met"]) and counts[best] * 2 > voters
    if approved and voters:
        result["winner"] = options[best]
        result["decided"] = True
    return result
