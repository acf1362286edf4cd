"""Schema sections for image data: per-image quality thresholds and image-folder sources.

``quality:`` sits on an image feature and switches on the per-image quality
rules (``dark``, ``bright``, ``low_information``, ``blurry``, ``saturated``);
without it those rules never run, so existing schemas keep their behaviour.
The defaults were calibrated on tiles of scikit-learn's sample photos and on
its digits (``benchmarks/bench_quality.py``): clean data stays quiet.

``images:`` sits next to ``features``/``labels`` and says how an image folder
maps onto them (class-per-subfolder as Keras reads it, or a labels table).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class QualitySpec(_Strict):
    """Per-image quality thresholds; intensities are scaled to [0, 1] by the feature's range.

    A threshold set to null switches its rule off.

    >>> QualitySpec().dark
    0.1
    """

    dark: float | None = Field(
        0.1, ge=0, le=1, description="dark: the image's 95th intensity percentile is below this "
        "(the brightest part of the image is still dark).")
    bright: float | None = Field(
        0.99, ge=0, le=1, description="bright: the image's 5th intensity percentile is above "
        "this (even its darkest part is washed out).")
    low_information: float | None = Field(
        0.25, ge=0, description="low_information: entropy of the 32-bin intensity histogram, in "
        "bits, is below this (blank or nearly uniform images).")
    blurry: float | None = Field(
        0.03, gt=0, description="blurry: sharpness (variance of the Laplacian over the variance "
        "of the image) is below this fraction of the dataset median. Judged over the whole "
        "dataset by check(); in graph use blurry_below. Photos spread their sharpness over two "
        "decades (out-of-focus backgrounds), hence the low default; raise it for data as "
        "uniform as digits.")
    blurry_below: float | None = Field(
        None, gt=0, description="blurry, judged per batch and in graph: absolute sharpness "
        "below this (read typical values from a check() report's summaries).")
    min_contrast: float = Field(
        0.02, ge=0, description="Images whose intensity std is below this are not judged "
        "blurry (they are blank: low_information and constant say so).")
    saturated: float | None = Field(
        0.4, gt=0, le=1, description="saturated: more than this fraction of the values sit at "
        "the top of the range (clipped highlights).")


class ImageFolderSpec(_Strict):
    """How an image folder maps onto the schema (``images:``).

    Class-per-subfolder (``keras.utils.image_dataset_from_directory``): each
    direct subfolder is a class, class index by sorted name. Flat folder: a
    labels table (``labels_csv``, a path relative to the folder) with one
    row per image.

    >>> ImageFolderSpec(labels_csv="labels.csv").file_column
    'filename'
    """

    feature: str | None = Field(None, description="The feature images are judged as "
                                "(default: the first feature).")
    label: str | None = Field(None, description="The label that receives the class index "
                              "(default: the first label).")
    labels_csv: str | None = Field(None, description="Flat folder: the labels table, relative "
                                   "to the folder (default: labels.csv when present).")
    file_column: str = Field("filename", description="Column naming each image file.")
    label_column: str = Field("label", description="Column holding each image's label.")
