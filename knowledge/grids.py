"""The community's grids (网格) from grids.yaml, and matching an address or a point to one."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError
from knowledge.normalize import normalize

FILENAME = "grids.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)
EARTH_RADIUS_M = 6_371_008.8

_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_NUMBER = "[零〇一二两三四五六七八九十百]{1,5}"
# "3号楼", "3栋", "3幢", "3座", "第3栋"; with Chinese numerals only "三号楼" or "第三栋", since
# "一栋楼" is usually "a building". "3楼" is a floor and "3单元" a stairwell: neither counts.
_BUILDING_PATTERNS = (
    re.compile(r"(?<!\d)(\d{1,3})\s*(?:[号號]\s*[楼樓栋棟幢座]|[栋棟幢座])"),
    re.compile(rf"第\s*({_CN_NUMBER})\s*(?:[号號]\s*)?[楼樓栋棟幢座]"),
    re.compile(rf"({_CN_NUMBER})\s*[号號]\s*[楼樓栋棟幢座]"),
    re.compile(r"\b(?:building|bldg|block|blk|tower)\.?\s*(?:no\.?\s*|number\s*|#\s*)?(\d{1,3})\b"),
    re.compile(r"\bno\.?\s*(\d{1,3})\s+(?:building|bldg|block|tower)\b"),
    re.compile(r"(?<![\d-])(\d{1,3})-\d{1,2}-\d{3,4}(?![\d-])"),  # 楼-单元-室: "3-2-301"
)
# Another residential estate named in the text ("阳光小区", "Sunshine Estate"): its building
# numbers are not this estate's, so the address is left to staff.
# ("花园" is left out: most gardens are just gardens.)
_OTHER_ESTATE_ZH = re.compile(r"([\u4e00-\u9fff]{1,8}?)(?:小区|家园|新村|公寓|苑)")
_OWN_BEFORE_ZH = (
    "我们", "咱们", "我家", "你们", "这个", "那个", "本", "该", "这", "的", "在", "住", "我", "咱",
    "老", "新", "个", "社区", "小区",
)  # fmt: skip
_OTHER_ESTATE_EN = re.compile(r"\b([a-z][a-z'-]*)\s+(?:estate|residences?|apartments|compound)\b")
_OWN_BEFORE_EN = frozenset(
    ("my", "our", "the", "this", "that", "same", "your", "an", "a", "housing", "residential",
     "real")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Grid:
    """One grid: its worker, its buildings and places, and roughly where it is."""

    id: str
    name_zh: str
    name_en: str
    worker_zh: str
    worker_en: str
    phone: str
    buildings: tuple[int, ...]
    places_zh: tuple[str, ...]
    places_en: tuple[str, ...]
    lat: float
    lon: float
    radius_m: float

    def label(self, locale: str) -> str:
        """The grid's name in the resident's language."""
        return self.name_en if locale == "en" else self.name_zh

    def worker(self, locale: str) -> str:
        """The grid worker's name in the resident's language."""
        return self.worker_en if locale == "en" else self.worker_zh


class GridMap:
    """All grids, matching typed addresses and shared locations to them."""

    def __init__(
        self, grids: Iterable[Grid], estate_names: Iterable[str] = (), *, source: Path = PACKAGED
    ) -> None:
        """Index the grids (KnowledgeError naming `source` on duplicates)."""
        self.grids: dict[str, Grid] = {}
        self._building: dict[int, Grid] = {}
        self._place: dict[str, Grid] = {}
        for grid in grids:
            if grid.id in self.grids:
                raise KnowledgeError(source, grid.id, "grid id used twice")
            self.grids[grid.id] = grid
            for number in grid.buildings:
                if number in self._building:
                    other = self._building[number].id
                    raise KnowledgeError(source, grid.id, f"building {number} also in {other}")
                self._building[number] = grid
            for name in (*grid.places_zh, *grid.places_en):
                key = normalize(name)
                if key in self._place and self._place[key] is not grid:
                    other = self._place[key].id
                    raise KnowledgeError(source, grid.id, f"place {name!r} also in {other}")
                self._place[key] = grid
        self._estates = tuple(n for n in {normalize(e) for e in estate_names} if n)
        self._places_re = _alternation(self._place)
        self._own_re = _alternation({**dict.fromkeys(self._estates), **self._place})

    @classmethod
    def load(cls, knowledge_dir: Path | None = None) -> GridMap:
        """The grids of grids.yaml: a deployment's own file in `knowledge_dir`, else packaged."""
        path = PACKAGED
        if knowledge_dir is not None and (knowledge_dir / FILENAME).is_file():
            path = knowledge_dir / FILENAME
        try:
            data = load_yaml(path)
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise KnowledgeError(path, None, f"not valid YAML: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("grids"), list):
            raise KnowledgeError(path, None, "expected `grids:`, a list of grids")
        unknown = set(data) - {"grids", "estate"}
        if unknown:
            raise KnowledgeError(path, None, f"unknown keys {sorted(map(str, unknown))}")
        estate = data.get("estate") or {}
        if not isinstance(estate, dict) or set(estate) - {"zh", "en"}:
            raise KnowledgeError(path, "estate", "expected `zh:` and `en:` lists of names")
        names = [*_texts(path, "estate", estate, "zh"), *_texts(path, "estate", estate, "en")]
        grids = [_grid(path, entry) for entry in data["grids"]]
        if not grids:
            raise KnowledgeError(path, None, "no grids")
        return cls(grids, names, source=path)

    def get(self, grid_id: str | None) -> Grid | None:
        """A grid by id (None for None or an unknown id)."""
        return self.grids.get(grid_id) if grid_id is not None else None

    def __iter__(self) -> Iterator[Grid]:
        """The grids in file order."""
        return iter(self.grids.values())

    def __len__(self) -> int:
        """How many grids there are."""
        return len(self.grids)

    def locate_text(self, address: str) -> tuple[Grid | None, int | None]:
        """(grid, building number) for a typed address: a building first, else a named place."""
        text = normalize(address)
        if not text or self._names_other_estate(text):
            return None, None
        for number in _building_numbers(text):
            grid = self._building.get(number)
            if grid is not None:
                return grid, number
        return self._by_places(text), None

    def locate_point(self, lat: float, lon: float) -> Grid | None:
        """The grid whose centre is nearest, if the point is within its radius; else None."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        best: Grid | None = None
        best_distance = math.inf
        for grid in self.grids.values():
            distance = haversine_m(lat, lon, grid.lat, grid.lon)
            if distance <= grid.radius_m and distance < best_distance:
                best, best_distance = grid, distance
        return best

    def _by_places(self, text: str) -> Grid | None:
        if self._places_re is None:
            return None
        score: dict[str, int] = {}
        first: dict[str, int] = {}
        for match in self._places_re.finditer(text):
            grid = self._place[match.group(0)]
            score[grid.id] = score.get(grid.id, 0) + len(match.group(0))
            first.setdefault(grid.id, match.start())
        if not score:
            return None
        return self.grids[min(score, key=lambda g: (-score[g], first[g]))]

    def _names_other_estate(self, text: str) -> bool:
        """Whether the text names a residential estate other than this one (and not this one)."""
        if any(name in text for name in self._estates):
            return False
        rest = self._own_re.sub(" ", text) if self._own_re is not None else text
        for match in _OTHER_ESTATE_ZH.finditer(rest):
            if not match.group(1).endswith(_OWN_BEFORE_ZH):
                return True
        return any(m.group(1) not in _OWN_BEFORE_EN for m in _OTHER_ESTATE_EN.finditer(rest))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _building_numbers(text: str) -> Iterator[int]:
    found: list[tuple[int, int]] = []
    for pattern in _BUILDING_PATTERNS:
        for match in pattern.finditer(text):
            number = _number(match.group(1))
            if number is not None:
                found.append((match.start(), number))
    for _, number in sorted(found):
        yield number


def _number(text: str) -> int | None:
    """An Arabic or Chinese numeral below 1000 ("12", "十二", "二十三", "一百零五", "一二")."""
    if text.isdigit():
        return int(text)
    if not any(c in text for c in "十百"):
        digits = [_CN_DIGITS.get(c) for c in text]
        return int("".join(map(str, digits))) if None not in digits else None
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _alternation(names: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for many names, longest first; ASCII names only match as whole words."""
    parts = []
    for name in sorted(set(names), key=lambda n: (-len(n), n)):
        escaped = re.escape(name)
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if name.isascii() else escaped)
    return re.compile("|".join(parts)) if parts else None


def _grid(path: Path, entry: Any) -> Grid:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        raise KnowledgeError(path, None, "a grid must be a mapping with a text `id`")
    grid_id = entry["id"]

    def fail(reason: str) -> KnowledgeError:
        return KnowledgeError(path, grid_id, reason)

    expected = {"id", "name_zh", "name_en", "worker_zh", "worker_en", "phone", "buildings"}
    expected |= {"places_zh", "places_en", "center", "radius_m"}
    if set(entry) != expected:
        missing, unknown = sorted(expected - set(entry)), sorted(map(str, set(entry) - expected))
        raise fail(f"missing fields {missing}, unknown fields {unknown}")
    text: dict[str, str] = {}
    for field in ("name_zh", "name_en", "worker_zh", "worker_en", "phone"):
        value = entry[field]
        if not isinstance(value, str) or not value.strip():
            raise fail(f"`{field}` must be text (quote a phone number)")
        text[field] = value.strip()
    buildings = entry["buildings"]
    if not isinstance(buildings, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 < b < 1000 for b in buildings
    ):
        raise fail("`buildings` must be a list of building numbers (1–999)")
    center = entry["center"]
    if not isinstance(center, dict) or set(center) != {"lat", "lon"}:
        raise fail("`center` must be {lat: …, lon: …}")
    lat, lon, radius = center["lat"], center["lon"], entry["radius_m"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon, radius)):
        raise fail("`center` and `radius_m` must be numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < radius <= 50_000):
        raise fail("`center` out of range or `radius_m` not in 1–50000")
    return Grid(
        id=grid_id,
        name_zh=text["name_zh"],
        name_en=text["name_en"],
        worker_zh=text["worker_zh"],
        worker_en=text["worker_en"],
        phone=text["phone"],
        buildings=tuple(buildings),
        places_zh=tuple(_texts(path, grid_id, entry, "places_zh")),
        places_en=tuple(_texts(path, grid_id, entry, "places_en")),
        lat=float(lat),
        lon=float(lon),
        radius_m=float(radius),
    )


def _texts(path: Path, where: str, entry: dict[str, Any], field: str) -> list[str]:
    values = entry.get(field) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise KnowledgeError(path, where, f"`{field}` must be a list of names")
    return [v.strip() for v in values]
