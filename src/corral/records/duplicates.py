"""DUPLICATE_DATA for a record whose key values other records hold (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from corral.errors import CorralError, DuplicateData, MultipleOrMultiErrors
from corral.records import validate as v
from corral.records.writes import Clash
from corral.storage.repositories.owners import OwnerName


def duplicate_error(clashes: Sequence[Clash], index: int, owner_of: Mapping[int, int],
                    names: Mapping[int, OwnerName]) -> CorralError:
    """DUPLICATE_DATA naming the earliest holder (MULTIPLE_OR_MULTI_ERRORS for several)."""
    errors: list[CorralError] = []
    for clash in clashes:
        first = clash.holders[0]
        owner = names.get(owner_of.get(first, 0))
        owner_obj = ({"name": owner.name, "id": str(owner.id), "zuid": owner.zuid}
                     if owner is not None else None)
        errors.append(DuplicateData(details={
            "api_name": clash.api_name, "json_path": v.path(index, clash.api_name),
            "duplicate_record": {
                "Owner": owner_obj,
                "module": {"api_name": clash.module.api_name, "id": str(clash.module.id)},
                "id": str(first)},
            "more_records": len(clash.holders) > 1,
        }))
    if len(errors) == 1:
        return errors[0]
    return MultipleOrMultiErrors(errors=errors)
