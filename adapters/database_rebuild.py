"""A from-zero rebuild on PostgreSQL in which the database reads the bulk of the log.

Nine events in ten are a self-evaluation's (submissions, revisions, confirmations,
corrections). Sending each to Python to become an audit-trail row and a status
update costs more than reading it; here PostgreSQL parses their stored JSON once
(a staging table dropped at commit) and, in the transaction that moves the
generation's tracking position:

* inserts their audit-trail rows (`INSERT … SELECT`);
* summarises them per self-evaluation (counts and last position per event name),
  which `read_models.status_change` turns into the status rows;
* picks every sub-item's latest answer, which `read_models.restore_answers` hands
  to the same `flush` that scores the live path's answers.

Every other event (registry, runs, catalogues: a few percent) goes through the
same `changes` as the live path. The live path stays the definition; the tests
compare this rebuild with it row for row (tests/test_projections.py).

Used only where it reads what the live path reads: a PostgreSQL ledger whose
events are stored as plain JSON (no cipher, no compression) and whose
self-evaluation events are all at their first class version. Elsewhere the
rebuild folds every event in Python (`projecting.catch_up`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from adapters.projecting import (
    DECODED_TOPICS,
    NOTHING_TO_UPCAST,
    SELF_EVALUATION_TOPICS,
    Progress,
    recorded_events,
)
from adapters.read_store import PostgresReadStore, ReadStore, table_name
from domain.catalogue import CatalogueSpec
from projections.fold import Folded
from projections.read_models import (
    AUDIT_TRAIL,
    EVENT_META,
    OWN_COLUMNS,
    Context,
    changes,
    flush,
    restore_answers,
    status_change,
)

if TYPE_CHECKING:
    from domain.ledger import Ledger

STAGE = "kofu_rebuild_stage"
EVALUATIONS = "kofu_rebuild_evaluations"

_STAGE = """
CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS
SELECT e.notification_id AS position, e.originator_id, t.name,
       convert_from(e.state, 'UTF8')::jsonb AS s
FROM {events} AS e
JOIN unnest({topics}::text[], {names}::text[]) AS t (topic, name) ON e.topic = t.topic
WHERE e.notification_id <= {stop}
"""

_EVALUATIONS = """
CREATE TEMPORARY TABLE {evaluations} ON COMMIT DROP AS
SELECT originator_id, s->>'lg_code' AS lg_code,
       (s->>'grant_year')::bigint AS grant_year, s->>'tier' AS tier,
       (s->>'catalogue_version')::bigint AS catalogue_version
FROM {stage} WHERE name = 'Opened'
"""

_ORPHANS = """
SELECT count(*) FROM {stage} AS st
WHERE NOT EXISTS (SELECT 1 FROM {evaluations} AS ev
                  WHERE ev.originator_id = st.originator_id)
"""

_AUDIT = """
INSERT INTO {audit} (position, entity, grant_year, recorded_at, event, actor, reason,
                     details)
SELECT st.position, ev.lg_code, ev.grant_year, (st.s->>'timestamp')::timestamptz,
       'SelfEvaluation.' || st.name, st.s->>'actor', st.s->>'reason',
       st.s - {omitted}::text[]
FROM {stage} AS st JOIN {evaluations} AS ev USING (originator_id)
"""

_SUMMARY = """
SELECT originator_id, name, count(*), max(position) FROM {stage}
GROUP BY originator_id, name
"""

_LAST_RECORDED = """
SELECT st.originator_id, (st.s->>'timestamp')::timestamptz
FROM {stage} AS st
JOIN (SELECT max(position) AS position FROM {stage} GROUP BY originator_id) AS last
  USING (position)
"""

# A sub-item's latest answer: a submission's answers, a revision's or an import's
# changes (the last for an item within one event), a correction's change.
_ANSWERS = """
SELECT originator_id, jsonb_object_agg(item, jsonb_build_array(after, position))::text
FROM (
SELECT DISTINCT ON (originator_id, item) originator_id, item, after, position
FROM (
    SELECT originator_id, a.key AS item, a.value AS after, position, 0 AS nth
    FROM {stage}, jsonb_each(s->'answers') AS a WHERE name = 'Submitted'
    UNION ALL
    SELECT originator_id, c.value->>'item', c.value->'after', position, c.nth
    FROM {stage}, jsonb_array_elements(s->'changes') WITH ORDINALITY AS c (value, nth)
    WHERE name IN ('Revised', 'MinistryValuesImported')
    UNION ALL
    SELECT originator_id, s->'change'->>'item', s->'change'->'after', position, 0
    FROM {stage} WHERE name = 'Corrected'
) AS answers
ORDER BY originator_id, item, position DESC, nth DESC
) AS latest
GROUP BY originator_id
"""


def applies(ledger: Ledger, store: ReadStore) -> bool:
    """Whether this ledger's rebuild can be read by the database."""
    mapper = ledger.mapper
    return (
        isinstance(store, PostgresReadStore)
        and isinstance(ledger.recorder, PostgresApplicationRecorder)
        and mapper.cipher is None
        and mapper.compressor is None
        and NOTHING_TO_UPCAST
    )


def build(
    ledger: Ledger,
    store: PostgresReadStore,
    *,
    batch: int,
    progress: Progress | None = None,
) -> int:
    """Build the store's (empty) generation up to the ledger's last event; return it.

    One transaction writes every table and moves the tracking position, after
    the same compare-and-set as every other batch.

    Raises:
        IntegrityError: another runner moved the generation's position first.
        LookupError: a self-evaluation event whose opening is not in the log.
    """
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)  # noqa: S101
    begun = store.position()
    stop = recorder.max_notification_id() or 0
    if stop <= begun:
        return begun
    names = {
        "stage": sql.Identifier(STAGE),
        "evaluations": sql.Identifier(EVALUATIONS),
        "events": sql.Identifier(recorder.events_table_name),
    }
    # Statuses and scores on a second connection (and thread) while this one
    # writes the audit trail: two database processes at work, one per core.
    with ThreadPoolExecutor(1, thread_name_prefix="kofu-scores") as pool:
        scored = pool.submit(_scored, ledger, store, names, stop)
        shown = _write(ledger, store, (begun, stop), names, scored, batch, progress)
    if progress:
        progress(stop - begun - shown)  # the rest, self-evaluations and unshown
    return stop


def _write(
    ledger: Ledger,
    store: PostgresReadStore,
    span: tuple[int, int],
    names: dict[str, Any],
    scored: Future[Folded],
    batch: int,
    progress: Progress | None,
) -> int:
    """Write the generation in one transaction; how many other events it showed."""
    begun, stop = span
    context, folded = Context(), Folded()
    with store.cursor() as cursor:
        store.claim(cursor, begun, stop)
        # Room to sort the new tables' indexes in memory (this transaction only).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # The other events (a few percent) through the live path's `changes`.
        # One query: the library's `select_notifications` pages by position and
        # filters by topic, which walks the whole log once per page here.
        shown = 0
        for notes in _other_events(cursor, names, stop, batch):
            for at, event in recorded_events(ledger, notes):
                folded.apply(changes(event, at, context))
            shown += len(notes)
            if progress:
                progress(len(notes))
        _stage(cursor, names, stop)
        cursor.execute(sql.SQL(_EVALUATIONS).format(**names))
        cursor.execute(sql.SQL(_ORPHANS).format(**names))
        orphans = _scalar(cursor.fetchone())
        if orphans:
            msg = f"{orphans} self-evaluation events up to {stop} have no opening"
            raise LookupError(msg)
        cursor.execute(
            sql.SQL(_AUDIT).format(
                **names,
                audit=sql.Identifier(table_name(AUDIT_TRAIL, store.generation)),
                omitted=sql.Literal([*EVENT_META, *OWN_COLUMNS]),
            )
        )
        folded.merge(scored.result())
        store.write_folded(cursor, folded)
        store.create_indexes(cursor)
    return shown


def _stage(cursor: Any, names: dict[str, Any], stop: int) -> None:
    cursor.execute(
        sql.SQL(_STAGE).format(
            **names,
            topics=sql.Literal(list(SELF_EVALUATION_TOPICS)),
            names=sql.Literal(list(SELF_EVALUATION_TOPICS.values())),
            stop=sql.Literal(stop),
        )
    )


def _scored(
    ledger: Ledger, store: PostgresReadStore, names: dict[str, Any], stop: int
) -> Folded:
    """The status, item-point and total rows of every self-evaluation (read only).

    From the events' summary and every sub-item's latest answer, which the
    database works out; one row per self-evaluation comes back (a few thousand
    JSON documents are much quicker to fetch than a row per answer).
    """

    def catalogue(grant_year: int, tier: str, version: int) -> CatalogueSpec:
        return ledger.catalogue(grant_year, tier, version).spec

    context, folded = Context(find_catalogue=catalogue), Folded()
    with store.cursor() as cursor:
        _stage(cursor, names, stop)
        cursor.execute(sql.SQL(_EVALUATIONS).format(**names))
        _evaluations(cursor, context, names)
        _statuses(cursor, context, folded, names)
        cursor.execute(sql.SQL(_ANSWERS).format(**names))
        answers = cursor.fetchall()
    for row in answers:
        originator_id, latest = _row(row)
        restore_answers(context, originator_id, orjson.loads(latest))
    folded.apply(flush(context))
    return folded


def _other_events(
    cursor: Any, names: dict[str, Any], stop: int, batch: int
) -> Iterator[list[Notification]]:
    """The shown events that are not self-evaluations', up to `stop`, in pages."""
    cursor.execute(
        sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {events} WHERE topic = ANY(%s) AND notification_id <= %s "
            "ORDER BY notification_id"
        ).format(**names),
        (sorted(DECODED_TOPICS), stop),
    )
    while rows := cursor.fetchmany(batch):
        yield [
            Notification(
                id=at, originator_id=aggregate, originator_version=v, topic=t, state=s
            )
            for at, aggregate, v, t, s in map(_row, rows)
        ]


def _evaluations(cursor: Any, context: Context, names: dict[str, Any]) -> None:
    cursor.execute(
        sql.SQL(
            "SELECT originator_id, lg_code, grant_year, tier, catalogue_version "
            "FROM {evaluations}"
        ).format(**names)
    )
    for row in cursor.fetchall():
        originator_id, lg_code, grant_year, tier, version = _row(row)
        context.evaluations[originator_id] = (lg_code, grant_year, tier, version)


def _statuses(
    cursor: Any, context: Context, folded: Folded, names: dict[str, Any]
) -> None:
    events: defaultdict[object, dict[str, tuple[int, int]]] = defaultdict(dict)
    cursor.execute(sql.SQL(_SUMMARY).format(**names))
    for row in cursor.fetchall():
        originator_id, name, count, last = _row(row)
        events[originator_id][name] = (count, last)
    cursor.execute(sql.SQL(_LAST_RECORDED).format(**names))
    recorded = dict(_row(row) for row in cursor.fetchall())
    folded.apply(
        status_change(
            context.evaluation(originator_id)[:3], summary, recorded[originator_id]
        )
        for originator_id, summary in events.items()
    )


def _row(row: Any) -> list[Any]:
    # The library's connections return dict rows.
    return list(row.values()) if isinstance(row, dict) else list(row)


def _scalar(row: Any) -> int:
    return int(_row(row)[0])
