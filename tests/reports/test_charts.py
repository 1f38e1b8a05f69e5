"""The SVG charts: well-formed, accessible, escaped, gaps for missing values, percentages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reports.charts import bar_chart, grade, line_chart, percent, text_width

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_a_line_chart_labels_its_points_and_says_what_it_shows() -> None:
    root = parse(line_chart(
        [("开课率", [("11/9", 1.0), ("11/16", 0.5)]),
         ("接收端准时率", [("11/9", 1.0), ("11/16", 0.6667)])],
        title="每周开课率与接收端准时率",
    ))  # fmt: skip
    assert root.get("role") == "img"
    assert root.get("aria-label") == "每周开课率与接收端准时率"
    assert root.find(f"{SVG}title").text == "每周开课率与接收端准时率"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "开课率: 11/9 100.0%, 11/16 50.0%" in desc
    shown = texts(root)
    assert {"开课率", "接收端准时率", "11/9", "11/16", "50.0%", "66.7%"} <= set(shown)
    assert shown.count("100.0%") == 2  # both series at 100 % in the first week
    assert {"0%", "50%", "100%"} <= set(shown)  # the y axis
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 4


def test_labels_of_points_at_the_same_place_do_not_overlap() -> None:
    root = parse(line_chart([("a", [("w1", 0.8)]), ("b", [("w1", 0.8)]), ("c", [("w1", 0.79)])],
                            title="t"))  # fmt: skip
    ys = sorted(float(t.get("y", 0)) for t in root.iter(f"{SVG}text")
                if (t.text or "").endswith("%") and t.get("font-weight") == "600")  # fmt: skip
    assert len(ys) == 3
    assert all(b - a >= 14 for a, b in zip(ys, ys[1:], strict=False))


def test_a_missing_value_is_a_gap_not_a_zero() -> None:
    root = parse(line_chart([("开课率", [("w1", 0.9), ("w2", None), ("w3", 0.7), ("w4", 0.8)])],
                            title="t"))  # fmt: skip
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 1  # w1 stands alone; w3–w4 is the only line
    assert len(lines[0].get("points", "").split()) == 2
    assert len(root.findall(f"{SVG}circle")) == 3
    assert "w2 —" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_text_is_escaped() -> None:
    nasty = '<script>alert("x")</script> & 龙潭'
    for markup in (line_chart([(nasty, [(nasty, 0.5)])], title=nasty),
                   bar_chart([(nasty, 0.5)], title=nasty)):  # fmt: skip
        assert "<script>" not in markup
        root = parse(markup)
        assert root.get("aria-label") == nasty
        assert any(t.startswith('<script>alert("x")') for t in texts(root))  # as text


def test_a_bar_chart_shows_percentages_coloured_by_grade() -> None:
    root = parse(bar_chart([("石门镇", 1.0), ("柳河乡", 0.3333), ("白云镇", None)],
                           title="各乡镇开课率", none_label="无数据"))  # fmt: skip
    shown = texts(root)
    assert {"石门镇", "柳河乡", "白云镇", "100.0%", "33.3%", "无数据"} <= set(shown)
    bars = root.findall(f"{SVG}rect")
    assert [b.get("class") for b in bars] == ["bar-good", "bar-poor"]  # no bar for no data
    full, third = (float(b.get("width", 0)) for b in bars)
    assert abs(third / full - 0.3333) < 0.01
    assert int(root.get("height", 0)) > 3 * 22


def test_a_bar_chart_on_another_scale_with_its_own_format() -> None:
    root = parse(bar_chart([("教学组织", 4.5), ("音视频质量", 2.0)], title="巡课", scale=5.0,
                           fmt=lambda v: f"{v:.1f} 分", thresholds=(0.8, 0.6)))  # fmt: skip
    assert {"4.5 分", "2.0 分"} <= set(texts(root))
    assert [b.get("class") for b in root.findall(f"{SVG}rect")] == ["bar-good", "bar-poor"]


def test_a_long_label_is_shortened_with_its_full_text_kept() -> None:
    name = "青溪县某某乡某某村某某教学点第二分校" * 2
    root = parse(bar_chart([(name, 0.5)], title="t", width=400))
    (group,) = root.findall(f"{SVG}g")
    assert group.find(f"{SVG}title").text == name  # type: ignore[union-attr]
    shown = group.find(f"{SVG}text").text or ""  # type: ignore[union-attr]
    assert shown.endswith("…") and name.startswith(shown[:-1]) and len(shown) < len(name)


def test_empty_charts_say_so() -> None:
    assert "无数据" in texts(parse(line_chart([], title="t", none_label="无数据")))
    assert "无数据" in texts(parse(bar_chart([], title="t", none_label="无数据")))


def test_helpers() -> None:
    assert percent(0.75) == "75.0%" and percent(1 / 3) == "33.3%"
    assert grade(0.96, (0.95, 0.85)) == "good" and grade(0.9, (0.95, 0.85)) == "fair"
    assert grade(0.5, (0.95, 0.85)) == "poor"
    assert text_width("开课率", 10) == 30 and text_width("ab", 10) == 12
