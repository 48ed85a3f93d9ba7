"""Run models to the public Structs (models never leave the service)."""

from __future__ import annotations

from skreg_proto.importer import ImportResult as ResultOut
from skreg_proto.importer import ImportRun as RunOut
from skreg_proto.problems import FieldProblem

from skreg_importer.runs.models import ImportResult, ImportRun


def to_run(
    run: ImportRun, results: list[ImportResult] | None = None, counts: dict[str, int] | None = None
) -> RunOut:
    """The API view of a run (`results` only when asked for one run)."""
    return RunOut(
        id=run.id,
        source_id=run.source_id,
        state=run.state,  # type: ignore[arg-type]
        commit=run.commit,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
        results=[
            ResultOut(
                path=r.path,
                name=r.name,
                outcome=r.outcome,  # type: ignore[arg-type]
                version=r.version,
                digest=r.digest,
                problems=[FieldProblem(p["path"], p["message"]) for p in r.problems or []],
                warnings=[FieldProblem(p["path"], p["message"]) for p in r.warnings or []],
            )
            for r in results or []
        ],
        url=run.url,
        ref=run.ref,
        subdirectory=run.subdirectory,
        namespace=run.namespace,
        trigger=run.trigger,  # type: ignore[arg-type]
        attempts=run.attempts,
        created_at=run.created_at,
        counts=counts or {},
    )
