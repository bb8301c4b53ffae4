"""Units of measure as people read them: UCUM codes (what devices and standards send) → symbols.

``Cel`` → ℃, ``ug/L`` → μg/L. Unknown codes are shown as given. Used wherever a quantity is shown:
device pages, alarm rules, the portal."""

from __future__ import annotations

UNITS = {"Cel": "℃", "[degF]": "℉", "deg": "°", "ug/L": "μg/L", "ug/m3": "μg/m³", "mg/L": "mg/L", "mg/m3": "mg/m³",
         "%": "%", "m": "m", "cm": "cm", "mm": "mm", "m/s": "m/s", "m3/s": "m³/s", "hPa": "hPa", "kPa": "kPa",
         "dB": "dB", "lx": "lx", "V": "V", "A": "A", "kW": "kW", "kW.h": "kW·h", "uS/cm": "μS/cm", "NTU": "NTU",
         "/h": "次/小时", "{count}": "个", "1": ""}


def unit_label(code: str | None) -> str:
    """The symbol of a unit code, for display (``""`` for none)."""
    return UNITS.get(code or "", code or "")


def quantity_text(value: float | int | None, unit: str | None = None, states: dict[str, str] | None = None) -> str:
    """A reading as people read it: ``40 μg/L``; a switch by its state names (``开``) when given."""
    if value is None:
        return "—"
    if states:
        key = f"{value:g}" if isinstance(value, float) else str(value)
        if key in states:
            return states[key]
    num = f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    symbol = unit_label(unit)
    return f"{num} {symbol}".strip() if symbol not in ("℃", "°", "%") else f"{num}{symbol}"
