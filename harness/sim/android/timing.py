"""Latency distributions of the modelled Android stack (profile section `sim.timing` / `sim.boot`).

Placeholder: the network-model work defines every parameter here, documented in the profiles.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TimingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BootModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    adbd_ms: float = Field(default=300.0, ge=0, description="container start -> adbd accepts TCP")
    boot_completed_ms: float = Field(default=1500.0, ge=0, description="container start -> sys.boot_completed=1")
