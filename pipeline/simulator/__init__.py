"""The 95598 world simulator: units, customers, events and the calls they cause, written as nightly exports."""

from __future__ import annotations

from pipeline.simulator.dataset import DatasetError, load_labeled, nights
from pipeline.simulator.run import DEFAULT_START, SimulationError, SimulationSummary, simulate

__all__ = [
    "DEFAULT_START",
    "DatasetError",
    "SimulationError",
    "SimulationSummary",
    "load_labeled",
    "nights",
    "simulate",
]
