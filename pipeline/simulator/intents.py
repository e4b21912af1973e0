"""Request types the simulated customers call about, with the dynamics that drive repeat calls.

Each intent maps to one taxonomy label and to banks ``<key>_say`` (required),
``<key>_more`` and ``<key>_old`` (elderly, describing instead of naming).
``weight`` is the relative daily frequency of background (non-event) problems.
``commitment`` is what the agent promises: ``crew`` (on site within hours),
``restore`` (announced restoration time), ``wd`` (working days), ``reconnect``
(supply back within 24 h of paying) or ``none``. ``resolve_h`` is the median
time to a fix, ``repeat`` the base chance of calling again while unresolved,
``gap_h`` the median time between such calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    key: str
    label: str
    weight: float
    commitment: str
    resolve_h: float
    repeat: float
    gap_h: float
    commit_days: int = 5
    business: bool = False


INTENTS: tuple[Intent, ...] = (
    # outage
    Intent("home_no_power", "outage", 6.0, "crew", 3.0, 0.22, 1.5),
    Intent("area_out", "outage", 2.0, "crew", 4.0, 0.25, 1.5),
    Intent("frequent", "outage", 3.0, "wd", 120.0, 0.30, 40.0),
    Intent("breaker", "outage", 3.5, "crew", 5.0, 0.18, 3.0),
    Intent("planned", "outage", 1.5, "restore", 6.0, 0.20, 2.0),
    Intent("crew_late", "outage", 1.5, "crew", 3.0, 0.35, 1.0),
    Intent("restore", "outage", 2.0, "restore", 3.0, 0.25, 1.5),
    Intent("line_down", "outage", 1.5, "crew", 4.0, 0.15, 2.0),
    Intent("outage_losses", "outage", 1.0, "wd", 100.0, 0.25, 48.0),
    # voltage
    Intent("low_voltage", "voltage", 7.0, "wd", 260.0, 0.30, 60.0),
    Intent("no_start", "voltage", 3.0, "wd", 200.0, 0.25, 50.0),
    Intent("fluct", "voltage", 2.5, "wd", 150.0, 0.22, 40.0),
    Intent("flicker", "voltage", 2.5, "wd", 120.0, 0.20, 40.0),
    Intent("burnt", "voltage", 2.0, "wd", 160.0, 0.30, 48.0),
    Intent("three_phase", "voltage", 1.3, "wd", 180.0, 0.28, 48.0, business=True),
    Intent("lv_back", "voltage", 1.0, "wd", 200.0, 0.35, 48.0),
    # meter_billing
    Intent("bill_high", "meter_billing", 7.0, "wd", 110.0, 0.22, 60.0),
    Intent("estimated", "meter_billing", 2.5, "wd", 110.0, 0.18, 60.0),
    Intent("meter_fast", "meter_billing", 2.5, "wd", 120.0, 0.20, 60.0),
    Intent("meter_changed", "meter_billing", 2.0, "wd", 120.0, 0.25, 60.0),
    Intent("tariff", "meter_billing", 2.5, "none", 1.0, 0.03, 24.0),
    Intent("paid_not_credited", "meter_billing", 2.5, "wd", 48.0, 0.25, 24.0, commit_days=3),
    Intent("prepaid", "meter_billing", 1.5, "wd", 12.0, 0.30, 6.0, commit_days=1),
    Intent("arrears", "meter_billing", 2.5, "reconnect", 20.0, 0.32, 5.0),
    Intent("relative", "meter_billing", 1.2, "none", 1.0, 0.03, 24.0),
    Intent("late_fee", "meter_billing", 1.0, "wd", 100.0, 0.12, 72.0),
    Intent("refund", "meter_billing", 0.8, "wd", 200.0, 0.25, 96.0, commit_days=7),
    Intent("invoice", "meter_billing", 0.8, "none", 24.0, 0.05, 48.0),
    Intent("pv_payment", "meter_billing", 0.6, "wd", 300.0, 0.30, 120.0, commit_days=7),
    # connection
    Intent("new_meter", "connection", 3.0, "wd", 100.0, 0.15, 72.0),
    Intent("install_slow", "connection", 3.0, "wd", 150.0, 0.35, 60.0),
    Intent("capacity", "connection", 2.0, "wd", 200.0, 0.22, 96.0, commit_days=6, business=True),
    Intent("suspend", "connection", 0.8, "wd", 150.0, 0.15, 96.0, commit_days=6, business=True),
    Intent("transfer", "connection", 2.0, "wd", 100.0, 0.12, 96.0),
    Intent("move_box", "connection", 1.0, "wd", 200.0, 0.18, 96.0),
    Intent("temp_supply", "connection", 1.0, "wd", 150.0, 0.20, 72.0, commit_days=6),
    Intent("pv", "connection", 1.8, "wd", 400.0, 0.32, 96.0, commit_days=10),
    Intent("ev", "connection", 1.5, "wd", 250.0, 0.25, 96.0, commit_days=6),
    Intent("progress", "connection", 1.8, "wd", 150.0, 0.30, 72.0),
    Intent("docs", "connection", 1.0, "wd", 150.0, 0.20, 96.0),
    # other
    Intent("rude_staff", "other", 2.7, "wd", 150.0, 0.15, 72.0, commit_days=7),
    Intent("line_close", "other", 1.7, "wd", 300.0, 0.20, 120.0, commit_days=7),
    Intent("pole", "other", 1.4, "wd", 150.0, 0.15, 72.0, commit_days=7),
    Intent("tree", "other", 1.4, "wd", 150.0, 0.15, 72.0, commit_days=7),
    Intent("move_pole", "other", 1.2, "wd", 300.0, 0.20, 120.0, commit_days=7),
    Intent("noise", "other", 1.2, "wd", 300.0, 0.20, 120.0, commit_days=7),
    Intent("street_light", "other", 1.2, "wd", 200.0, 0.12, 120.0, commit_days=7),
    Intent("fraud", "other", 1.0, "none", 1.0, 0.02, 24.0),
    Intent("theft", "other", 0.7, "none", 1.0, 0.02, 24.0),
    Intent("praise", "other", 0.8, "none", 1.0, 0.0, 24.0),
    Intent("consult", "other", 2.7, "none", 1.0, 0.02, 24.0),
    Intent("app_trouble", "other", 1.0, "none", 2.0, 0.08, 24.0),
    Intent("hazard", "other", 1.0, "wd", 72.0, 0.20, 48.0, commit_days=3),
)

BY_KEY: dict[str, Intent] = {i.key: i for i in INTENTS}
