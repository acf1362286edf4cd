"""The schema's optional ``drift`` section: thresholds for ``datacheck diff``.

Kept free of the schema model's imports so ``datacheck.schema.model`` can
import it without a cycle.

    drift:
      js_divergence: 0.1       # intensity histograms, Jensen-Shannon (base 2, 0..1)
      linf: 0.2                # largest difference of one histogram bin's fraction
      label_linf: 0.1          # largest change of one class's fraction
      features:
        image: {js_divergence: 0.05}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class FeatureDrift(_Strict):
    """Per-name overrides of the drift thresholds (null disables a test)."""

    js_divergence: float | None = Field(None, ge=0, le=1)
    linf: float | None = Field(None, ge=0, le=1)


class DriftConfig(_Strict):
    """Thresholds above which two datasets (or saved summaries) count as drifted.

    >>> DriftConfig(js_divergence=0.05).label_linf
    0.1
    """

    js_divergence: float | None = Field(
        0.1, ge=0, le=1,
        description="Max Jensen-Shannon divergence (base 2, 0..1) between the intensity "
                    "histograms of a feature channel; null disables.")
    linf: float | None = Field(
        0.2, ge=0, le=1,
        description="Max L-infinity distance between normalized intensity histograms.")
    label_linf: float | None = Field(
        0.1, ge=0, le=1, description="Max change of one class's fraction between datasets.")
    label_js_divergence: float | None = Field(
        None, ge=0, le=1, description="Max Jensen-Shannon divergence of class frequencies.")
    label_alpha: float = Field(
        0.01, gt=0, le=1, description="A class-frequency shift whose chi-square p-value is at "
        "least this (too few labels to tell it from chance) is a warning, not an error.")
    bins: int = Field(64, ge=2, le=4096, description="Histogram bins used for the comparison.")
    spacing_tolerance: float = Field(
        0.01, ge=0, description="Max change (mm) of the most common voxel spacing per axis.")
    orientation: bool = Field(True, description="A change of the most common axis codes "
                                                "(orientation) is drift.")
    features: dict[str, FeatureDrift] = Field(
        default_factory=dict, description="Per feature/label overrides of js_divergence/linf.")

    def thresholds(self, name: str, label: bool = False) -> tuple[float | None, float | None]:
        """(js, linf) thresholds for ``name``: its override, else the section's defaults."""
        js, linf = ((self.label_js_divergence, self.label_linf) if label
                    else (self.js_divergence, self.linf))
        override = self.features.get(name)
        if override is not None:
            fields = override.model_fields_set
            js = override.js_divergence if "js_divergence" in fields else js
            linf = override.linf if "linf" in fields else linf
        return js, linf


def drift_model_at(loc: list[str]) -> type[BaseModel] | None:
    """The drift model at a pydantic error location (for unknown-key suggestions).

    >>> drift_model_at(["drift", "features", "image"]).__name__
    'FeatureDrift'
    """
    if not loc or loc[0] != "drift":
        return None
    return FeatureDrift if len(loc) >= 3 and loc[1] == "features" else DriftConfig
