"""Grids: the demo community's four grids, addresses and shared locations matched to them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from knowledge.faq import KnowledgeError
from knowledge.grids import Grid, GridMap, haversine_m

M_PER_DEG_LAT = 111_195.0


@pytest.fixture(scope="module")
def grids() -> GridMap:
    """The packaged (fictional) grids."""
    return GridMap.load()


def located(grids: GridMap, text: str) -> tuple[str | None, int | None]:
    """(grid id, building) for a typed address."""
    grid, building = grids.locate_text(text)
    return (grid.id if grid else None), building


def test_the_demo_grids(grids: GridMap) -> None:
    """Four grids with fictional workers, phones, buildings 1–20 and places in two languages."""
    assert [g.id for g in grids] == ["hx-1", "hx-2", "hx-3", "hx-4"]
    assert len(grids) == 4
    one = grids.get("hx-1")
    assert isinstance(one, Grid)
    assert one.label("zh") == "和谐社区第一网格"
    assert one.label("en") == "Harmony grid 1"
    assert one.worker("zh") == "张网格员"
    assert one.worker("en").startswith("Zhang")
    assert one.phone == "0000-0000101"
    assert one.buildings == (1, 2, 3, 4, 5)
    assert "示例路" in one.places_zh and "Example Road" in one.places_en
    assert sorted(b for g in grids for b in g.buildings) == list(range(1, 21))
    for grid in grids:
        assert grid.phone.startswith("0000-00001")
        assert grid.places_zh and grid.places_en
        assert abs(grid.lat - 30.0) < 0.01 and abs(grid.lon - 120.0) < 0.01
    assert grids.get(None) is None
    assert grids.get("hx-9") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("和谐小区3号楼2单元", ("hx-1", 3)),
        ("3号楼", ("hx-1", 3)),
        ("3栋", ("hx-1", 3)),
        ("3幢", ("hx-1", 3)),
        ("3 号 楼 门口", ("hx-1", 3)),
        ("三号楼", ("hx-1", 3)),
        ("３号楼", ("hx-1", 3)),
        ("３栋", ("hx-1", 3)),
        ("第三栋楼下", ("hx-1", 3)),
        ("第3栋", ("hx-1", 3)),
        ("building 3", ("hx-1", 3)),
        ("Building No. 3, Harmony Estate", ("hx-1", 3)),
        ("bldg 3", ("hx-1", 3)),
        ("3-2-301", ("hx-1", 3)),
        ("7号楼楼道", ("hx-2", 7)),
        ("十二号楼", ("hx-3", 12)),
        ("building 12", ("hx-3", 12)),
        ("二十号楼", ("hx-4", 20)),
        ("第十八幢", ("hx-4", 18)),
        ("16栋", ("hx-4", 16)),
        ("和谐小区十六號樓", ("hx-4", 16)),
        ("我们小区9号楼", ("hx-2", 9)),
    ],
)
def test_building_forms(grids: GridMap, text: str, expected: tuple[str, int]) -> None:
    """Digits, full-width digits, Chinese numerals, 号楼/栋/幢, English and 楼-单元-室."""
    assert located(grids, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("和谐小区东门", "hx-1"),
        ("东门垃圾桶满了", "hx-1"),
        ("示例路和东门交叉口", "hx-1"),
        ("示例路 88 号", "hx-1"),
        ("社区综合服务中心门口", "hx-1"),
        ("Example Road", "hx-1"),
        ("near the east gate", "hx-1"),
        ("和谐小区南门", "hx-2"),
        ("幸福路上的路灯", "hx-2"),
        ("Happiness Road", "hx-2"),
        ("停车场", "hx-2"),
        ("幸福菜市场门口", "hx-3"),
        ("幸福菜市场东门", "hx-3"),  # the market's east gate, not the estate's
        ("平安巷", "hx-3"),
        ("Happiness Market entrance", "hx-3"),
        ("Ping'an Lane", "hx-3"),
        ("社区公园", "hx-4"),
        ("社区 公园 长椅", "hx-4"),
        ("和美广场", "hx-4"),
        ("community park", "hx-4"),
        ("Harmony Estate north gate", "hx-4"),
    ],
)
def test_place_forms(grids: GridMap, text: str, expected: str) -> None:
    """Streets, gates, shops and landmarks in either language, spaced or not."""
    assert located(grids, text) == (expected, None)


def test_a_building_beats_a_place(grids: GridMap) -> None:
    """A building number is more precise than a nearby landmark."""
    assert located(grids, "幸福菜市场对面的3号楼") == ("hx-1", 3)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "火星基地",
        "人民路100号",
        "我住3楼",  # a floor, not a building
        "2单元",
        "一栋楼外墙掉了",  # "a building", not building 1
        "99号楼",  # no such building here
        "阳光小区3号楼",  # another estate's building 3
        "隔壁小区的噪音",
        "Sunshine Estate building 3",
        "building 345",
        "电话 0000-0000101",
    ],
)
def test_address_in_no_grid(grids: GridMap, text: str) -> None:
    """Nothing known → (None, None): staff place it by hand."""
    assert located(grids, text) == (None, None)


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point some metres north and east of another."""
    return (
        lat + north_m / M_PER_DEG_LAT,
        lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
    )


OUTWARD = {"hx-1": (0, 1), "hx-2": (-1, 0), "hx-3": (0, -1), "hx-4": (1, 0)}


@pytest.mark.parametrize("grid_id", ["hx-1", "hx-2", "hx-3", "hx-4"])
def test_point_inside_and_outside_each_grid(grids: GridMap, grid_id: str) -> None:
    """Inside the radius → that grid (nearest centre wins); beyond it → None."""
    grid = grids.get(grid_id)
    assert grid is not None
    assert grids.locate_point(grid.lat, grid.lon) is grid
    north, east = OUTWARD[grid_id]
    inside = offset(grid.lat, grid.lon, north * 0.8 * grid.radius_m, east * 0.8 * grid.radius_m)
    assert grids.locate_point(*inside) is grid
    toward_middle = offset(grid.lat, grid.lon, -north * 150, -east * 150)
    assert grids.locate_point(*toward_middle) is grid
    outside = offset(grid.lat, grid.lon, north * 1.2 * grid.radius_m, east * 1.2 * grid.radius_m)
    assert haversine_m(grid.lat, grid.lon, *outside) > grid.radius_m
    assert grids.locate_point(*outside) is None


def test_points_in_no_grid(grids: GridMap) -> None:
    """Far away, in a gap between grids, or nonsense → None."""
    assert grids.locate_point(30.05, 120.05) is None
    assert grids.locate_point(39.9, 116.4) is None
    assert grids.locate_point(0.0, 0.0) is None
    assert grids.locate_point(math.nan, 120.0) is None
    assert grids.locate_point(30.0, 120.0) is None  # the gap between the four discs


def test_haversine() -> None:
    """One degree of latitude is about 111 km."""
    assert haversine_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(30.0, 120.0, 30.0, 120.0) == 0.0


GRID = """\
  - id: {id}
    name_zh: 测试网格
    name_en: Test grid
    worker_zh: 测试员
    worker_en: Tester
    phone: '0000-0000199'
    buildings: {buildings}
    places_zh: [{place}]
    places_en: []
    center: {{lat: 31.0, lon: 121.0}}
    radius_m: 200
"""


def test_deployment_file_replaces_the_grids(tmp_path: Path) -> None:
    """A deployment's grids.yaml is the whole map."""
    (tmp_path / "grids.yaml").write_text(
        "estate:\n  zh: [测试小区]\n  en: []\ngrids:\n"
        + GRID.format(id="t-1", buildings="[1, 2]", place="测试广场"),
        "utf-8",
    )
    grids = GridMap.load(tmp_path)
    assert [g.id for g in grids] == ["t-1"]
    assert located(grids, "测试小区2号楼") == ("t-1", 2)
    assert located(grids, "测试广场") == ("t-1", None)
    assert located(grids, "幸福菜市场") == (None, None)
    assert grids.locate_point(31.0, 121.0) is grids.get("t-1")
    assert [g.id for g in GridMap.load(tmp_path / "absent")] == ["hx-1", "hx-2", "hx-3", "hx-4"]


A = GRID.format(id="a", buildings="[1]", place="甲")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            GRID.format(id="a", buildings="[1]", place="甲")
            + GRID.format(id="b", buildings="[1]", place="乙"),
            "building 1 also in a",
        ),
        (
            GRID.format(id="a", buildings="[1]", place="甲")
            + GRID.format(id="b", buildings="[2]", place="甲"),
            "also in a",
        ),
        (
            GRID.format(id="a", buildings="[1]", place="甲")
            + GRID.format(id="a", buildings="[2]", place="乙"),
            "used twice",
        ),
        (GRID.format(id="a", buildings="[0]", place="甲"), "buildings"),
        (GRID.format(id="a", buildings="['3']", place="甲"), "buildings"),
        (A.replace("'0000-0000199'", "1234"), "phone"),
        (A.replace("lat: 31.0", "lat: 95"), "range"),
        (A.replace("    radius_m: 200\n", ""), "missing"),
        (A + "    colour: red\n", "unknown"),
        ("  - 42\n", "mapping"),
    ],
)
def test_bad_grid_file_is_reported(tmp_path: Path, body: str, reason: str) -> None:
    """A bad deployment file names the file, the grid and the reason."""
    (tmp_path / "grids.yaml").write_text("grids:\n" + body, "utf-8")
    with pytest.raises(KnowledgeError, match=reason) as caught:
        GridMap.load(tmp_path)
    assert caught.value.path == tmp_path / "grids.yaml"


def test_empty_or_malformed_file_is_reported(tmp_path: Path) -> None:
    """No grids at all is a mistake, not an empty map."""
    for text in ("grids: []\n", "", "grids: [\n", "grid: []\n"):
        (tmp_path / "grids.yaml").write_text(text, "utf-8")
        with pytest.raises(KnowledgeError):
            GridMap.load(tmp_path)
