"""Units and readings as people read them (Cel → ℃, ug/L → μg/L, a switch as 开/关), and alarm rules in words."""

from __future__ import annotations

from citybase.iot.schemas import Condition, Quantity, Rule
from citybase.iot.service.alarms import _rule_text
from citybase.standards.units import quantity_text, unit_label


def test_unit_codes_become_symbols():
    assert unit_label("Cel") == "℃" and unit_label("ug/L") == "μg/L" and unit_label("ug/m3") == "μg/m³"
    assert unit_label("furlong") == "furlong" and unit_label(None) == ""
    assert quantity_text(40.0, "ug/L") == "40 μg/L" and quantity_text(25.5, "Cel") == "25.5℃"
    assert quantity_text(1.0, "", {"0": "关", "1": "开"}) == "开" and quantity_text(None) == "—"


def test_rules_read_with_names_and_units():
    q = {"chla": Quantity(key="chla", label="叶绿素a", unit="ug/L"), "wt": Quantity(key="wt", label="水温", unit="Cel"),
         "switch": Quantity(key="switch", label="开关状态", states={"0": "关", "1": "开"})}
    rule = Rule(key="bloom", name="蓝藻预警", conditions=[Condition(quantity="chla", op=">", value=40),
                                                       Condition(quantity="wt", op=">=", value=25)], duration_s=1800)
    assert _rule_text(rule, q) == "叶绿素a > 40 μg/L 且 水温 ≥ 25℃，持续 30 分钟"
    lamp = Rule(key="lamp", name="白天亮灯", conditions=[Condition(quantity="switch", op="==", value=1)])
    assert _rule_text(lamp, q) == "开关状态 = 开"
