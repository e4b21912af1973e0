"""All phrase banks of the simulator merged into one grammar."""

from __future__ import annotations

from functools import cache

from pipeline.simulator.banks import common, connection, meter_billing, other, outage, voltage
from pipeline.simulator.phrasebank import Grammar


@cache
def grammar() -> Grammar:
    """The one grammar every renderer uses (built once per process)."""
    merged: dict[str, str] = {}
    for source in (
        common.CUSTOMER,
        common.AGENT,
        outage.BANKS,
        outage.AGENT,
        voltage.BANKS,
        voltage.AGENT,
        meter_billing.BANKS,
        meter_billing.AGENT,
        connection.BANKS,
        connection.AGENT,
        other.BANKS,
        other.AGENT,
    ):
        clash = merged.keys() & source.keys()
        if clash:
            raise ValueError(f"bank defined twice: {sorted(clash)}")
        merged.update(source)
    return Grammar(merged, common.SHARED)
