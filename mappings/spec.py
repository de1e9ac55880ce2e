"""The mapping file format: one YAML per feed, source columns → canonical fields.

```yaml
description: PNC / ViSOR nominal records
fields:                         # canonical fields (nominal/canonical.py)
  source_key: {from: NOMINAL_REF, type: key}
  pnc_id:     {from: PNC_ID, type: pnc_id}
  forenames:  {from: [FORENAME_1, FORENAME_2], type: name}       # joined with a space
  date_of_birth: {from: DOB, type: date, format: "%d/%m/%Y"}
  sex:        {from: SEX, type: code, codes: {M: M, F: F, U: U}}
extra:                          # feed-specific fields carried through under these names
  nominal_type: {from: NOMINAL_TYPE, type: code, codes: {RSO: RSO, VO: VO, PDP: PDP}}
```

Field types (``type``) and their options are listed in ``TYPES``. A source column that may be
absent from a delivery is marked ``optional: true``; every other named column is required.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nominal import canonical
from nominal.yamlfile import load_model

TYPES: dict[str, str] = {
    "key": "the record's key: trimmed, upper case; a blank key drops the row with an issue",
    "text": "free text: trimmed, runs of white space (line breaks too) become one space",
    "name": "a name: text, upper case, curly apostrophes straightened, spaces around hyphens removed",
    "full_name": "one part (`part: surname|forenames`) of a whole name in one column; `order` says which comes first",
    "aliases": "a list of other names: `separator` between names, `name_separator` inside one, `order`",
    "code": "a value from the `codes` table (case-insensitive); anything else is null plus an issue",
    "integer": "a whole number",
    "date": "a date in `format` (strptime; a list of formats is tried in order)",
    "datetime": "a date and time in `format` (strptime; a list is tried in order)",
    "pnc_id": "PNC ID to YYYY/NNNNNNNC; short, slash-less and lower-case forms accepted; check letter verified",
    "cro_number": "CRO number, standard or SF form; check letter verified",
    "noms_number": "NOMS number A1234BC",
    "crn": "probation case reference X123456",
    "ni_number": "National Insurance number AB123456C, spaces removed",
    "booking_no": "prison booking number A12345",
    "postcode": "UK postcode, upper case, one space before the inward code",
}
IDENTIFIER_TYPES = ("pnc_id", "cro_number", "noms_number", "crn", "ni_number", "booking_no", "postcode")
NORMALISERS = ("trim", "upper", "lower", "title", "collapse_spaces", "remove_spaces", "strip_punctuation")
NameOrder = Literal["surname_first", "forenames_first"]


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str | list[str] = Field(alias="from", description="source column, or columns joined with a space")
    type: Literal[tuple(TYPES)] = "text"  # type: ignore[valid-type]
    format: str | list[str] | None = None
    codes: dict[str, str | int | None] | None = None
    part: Literal["surname", "forenames"] | None = None
    order: NameOrder = "surname_first"
    separator: str = ";"
    name_separator: str = ","
    normalise: list[Literal[NORMALISERS]] = Field(default_factory=list)  # type: ignore[valid-type]
    pattern: str | None = Field(None, description="regular expression the whole parsed value must match")
    optional: bool = False
    max_length: int | None = Field(None, gt=0, description="longer values are kept whole but raise an issue")

    @property
    def columns(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def formats(self) -> list[str]:
        return [self.format] if isinstance(self.format, str) else list(self.format or [])

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldSpec:
        if self.type in ("date", "datetime") and not self.formats:
            raise ValueError(f"type {self.type} needs a format, e.g. '%d/%m/%Y'")
        if self.type == "code" and not self.codes:
            raise ValueError("type code needs a codes table")
        if self.type == "full_name" and self.part is None:
            raise ValueError("type full_name needs part: surname or forenames")
        if self.pattern is not None:
            if self.type not in ("key", "text", "name"):
                raise ValueError("pattern applies to key, text and name fields")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return self


class MappingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    fields: dict[str, FieldSpec]
    extra: dict[str, FieldSpec] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _canonical_fields(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        unknown = [name for name in fields if name not in canonical.MAPPABLE]
        if unknown:
            raise ValueError(
                f"not canonical fields: {', '.join(unknown)} (put feed-specific fields under extra:); "
                f"canonical: {', '.join(canonical.MAPPABLE)}"
            )
        if "source_key" not in fields:
            raise ValueError("source_key must be mapped: every record needs its key")
        return fields

    @field_validator("extra")
    @classmethod
    def _extra_names(cls, extra: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        clashing = [name for name in extra if name in canonical.DTYPES or name.startswith("_")]
        if clashing:
            raise ValueError(f"extra fields may not reuse canonical or provenance names: {', '.join(clashing)}")
        bad = [name for name in extra if not name.isidentifier() or name != name.lower()]
        if bad:
            raise ValueError(f"extra field names must be lower_case identifiers: {', '.join(bad)}")
        return extra

    def all_fields(self) -> dict[str, FieldSpec]:
        return {**self.fields, **self.extra}

    def required_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for spec in self.all_fields().values():
            if not spec.optional:
                seen.update(dict.fromkeys(spec.columns))
        return list(seen)

    def known_columns(self) -> set[str]:
        return {c for spec in self.all_fields().values() for c in spec.columns}


def load_mapping(path: str | Path) -> MappingSpec:
    return load_model(Path(path), MappingSpec, "mapping file")
