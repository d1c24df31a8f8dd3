"""A from-zero rebuild on PostgreSQL in which the database reads the bulk of the log.

Nine events in ten are a self-evaluation's (submissions, revisions, confirmations,
corrections). Sending each to Python to become an audit-trail row and a status
update costs more than reading it; here PostgreSQL parses their stored JSON once,
into an unlogged staging table that three connections then read side by side:

* the first inserts their audit-trail rows (`INSERT … SELECT`) and, at the end,
  everything else, in the one transaction that moves the generation's tracking
  position (and drops the stage);
* the second picks every sub-item's latest answer, which
  `scores.restore_answers` hands to the same `flush` that scores the live
  path's answers (while the first, done with the audit trail, summarises the
  events per self-evaluation: counts and last position per event class, which
  `submission_status.summary` turns into the status rows);
* the third reads the other events (registry, runs, catalogues: a few percent)
  for the same `changes` as the live path.

The live path stays the definition: the SQL takes which events open a
self-evaluation or change its answers, and in which field, from the read models'
own tables of event classes (`scores.ANSWER_FIELDS`), and the tests compare this
rebuild with it row for row, read model by read model
(tests/integration/test_read_model_builds.py). A build killed mid-way leaves the live
generation as it was, and a stage that the next build replaces.

Used only where it reads what the live path reads: a PostgreSQL ledger whose
events are stored as plain JSON (no cipher, no compression) and whose
self-evaluation events are all at their first class version. Elsewhere the
rebuild folds every event in Python (`projecting.catch_up`).

Over 300 lines (STYLE): one procedure (staging, the readers side by side, the rows it
writes) and the SQL it sends, kept with the conditions under which it applies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from adapters.storage.projecting import (
    DECODED_TOPICS,
    NOTHING_TO_UPCAST,
    SELF_EVALUATION_TOPICS,
    LedgerSource,
    Progress,
    recorded_events,
)
from adapters.storage.read_store import PostgresReadStore, ReadStore, table_name
from domain.self_evaluation import SelfEvaluation
from projections.audit_trail import AUDIT_TRAIL, OWN_COLUMNS, event_name
from projections.context import EVENT_META, Context, Evaluation
from projections.fold import Folded
from projections.read_models import changes, flush
from projections.scores import ANSWER_FIELDS, restore_answers
from projections.submission_status import summary

if TYPE_CHECKING:
    from domain.ledger import Ledger

STAGE = "kofu_rebuild_stage_g{}"
"""The parsed self-evaluation events of a generation being built (dropped after)."""
EVALUATIONS = "kofu_rebuild_evaluations"

# The event's JSON parsed once (`OFFSET 0` keeps the planner from parsing it for
# every column), by PostgreSQL's parallel workers: the audit trail's columns.
_STAGE = """
CREATE UNLOGGED TABLE {stage} AS
SELECT position, originator_id, event, (s->>'timestamp')::timestamptz AS recorded_at,
       s->>'actor' AS actor, s->>'reason' AS reason, s - {omitted}::text[] AS details
FROM (
    SELECT e.notification_id AS position, e.originator_id, t.event,
           convert_from(e.state, 'UTF8')::jsonb AS s
    FROM {events} AS e
    JOIN unnest({topics}::text[], {labels}::text[]) AS t (topic, event)
      ON e.topic = t.topic
    WHERE e.notification_id <= {stop}
    OFFSET 0
) AS parsed
"""

_EVALUATIONS = """
CREATE TEMPORARY TABLE {evaluations} ON COMMIT DROP AS
SELECT originator_id, details->>'lg_code' AS lg_code,
       (details->>'grant_year')::bigint AS grant_year, details->>'tier' AS tier,
       (details->>'catalogue_version')::bigint AS catalogue_version
FROM {stage} WHERE event = {opened}
"""

_AUDIT = """
INSERT INTO {audit} (position, entity, grant_year, recorded_at, event, actor, reason,
                     details)
SELECT st.position, ev.lg_code, ev.grant_year, st.recorded_at,
       st.event, st.actor, st.reason, st.details
FROM {stage} AS st JOIN {evaluations} AS ev USING (originator_id)
"""

_SUMMARY = """
SELECT originator_id, event, count(*), max(position) FROM {stage}
GROUP BY originator_id, event
"""

_RECORDED_AT = """
SELECT position, recorded_at FROM {audit} WHERE position = ANY(%s)
"""

# A sub-item's latest answer: from the events that hold `answers` (item: value),
# `changes` (the last for an item within one event) or one `change`
# (`scores.ANSWER_FIELDS`: a submission; a revision or an import; a correction).
_ANSWERS = """
SELECT originator_id, jsonb_object_agg(item, jsonb_build_array(after, position))::text
FROM (
SELECT DISTINCT ON (originator_id, item) originator_id, item, after, position
FROM (
    SELECT originator_id, a.key AS item, a.value AS after, position, 0 AS nth
    FROM {stage}, jsonb_each(details->'answers') AS a WHERE event = ANY({answers})
    UNION ALL
    SELECT originator_id, c.value->>'item', c.value->'after', position, c.nth
    FROM {stage},
         jsonb_array_elements(details->'changes') WITH ORDINALITY AS c (value, nth)
    WHERE event = ANY({changes})
    UNION ALL
    SELECT originator_id, details->'change'->>'item', details->'change'->'after',
           position, 0
    FROM {stage} WHERE event = ANY({change})
) AS answers
ORDER BY originator_id, item, position DESC, nth DESC
) AS latest
GROUP BY originator_id
"""


_BY_LABEL = {event_name(kind): kind for kind in SELF_EVALUATION_TOPICS.values()}
"""The self-evaluation event classes by their `event` label (the stage's column)."""


def _answered_by(field: str) -> sql.Literal:
    return sql.Literal(
        [event_name(kind) for kind, held in ANSWER_FIELDS.items() if held == field]
    )


_KINDS = {
    "opened": sql.Literal(event_name(SelfEvaluation.Opened)),
    "answers": _answered_by("answers"),
    "changes": _answered_by("changes"),
    "change": _answered_by("change"),
}
"""The event classes the SQL picks, as the read models name them."""


IDLE_LIMIT = "5min"
"""How long a rebuild's transaction may wait between two statements: the one that
writes everything waits for the folds of the other threads, the one reading the
other events for Python to decode each page. The library's limit for every
transaction of the pool (`POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT`, 5 s by
default) ended them on a busy machine; this bound holds for these two only."""
_PATIENT = f"SET LOCAL idle_in_transaction_session_timeout = '{IDLE_LIMIT}'"


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
        ValueError: the generation is not empty (it has a position).
    """
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)  # noqa: S101
    begun = store.position()
    if begun:
        msg = f"{store.tracking_key} is at {begun}: the database builds from 0 only"
        raise ValueError(msg)
    stop = recorder.max_notification_id() or 0
    if stop <= begun:
        return begun
    names = {
        "audit": sql.Identifier(table_name(AUDIT_TRAIL, store.generation)),
        "stage": sql.Identifier(STAGE.format(store.generation)),
        "evaluations": sql.Identifier(EVALUATIONS),
        "events": sql.Identifier(recorder.events_table_name),
        **_KINDS,
    }
    # The self-evaluation events parsed once, into a table that every connection
    # reads (an interrupted build leaves it behind; the next one replaces it).
    with store.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {stage}").format(**names))
        staged = _stage(cursor, names, stop)
    if progress:
        progress(staged)
    # Then the other events, and the scores, each on a connection
    # (and thread) of its own while this one writes the audit trail: the
    # database's processes and Python's at work side by side.
    with ThreadPoolExecutor(2, thread_name_prefix="kofu-rebuild") as pool:
        others = pool.submit(_others, ledger, store, names, stop, batch, progress)
        scored = pool.submit(_scored, ledger, store, names)
        _write(store, (begun, stop), names, staged, [others.result, scored.result])
    if progress:  # the rest: gaps in the ids, events no read model shows
        progress(stop - begun - staged - others.result().count_events)
    return stop


def _write(
    store: PostgresReadStore,
    span: tuple[int, int],
    names: dict[str, Any],
    staged: int,
    folds: list[Callable[[], Folded]],
) -> None:
    """Write the generation in one transaction: audit rows here, the folds' rows."""
    begun, stop = span
    folded = Folded()
    with store.cursor() as cursor:
        store.claim(cursor, begun, stop)
        # Room to sort the audit trail's indexes in memory (this transaction only).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(_PATIENT)  # it waits for the other threads' folds
        cursor.execute(sql.SQL(_EVALUATIONS).format(**names))
        cursor.execute(sql.SQL(_AUDIT).format(**names))
        if cursor.rowcount != staged:
            msg = (
                f"{staged - cursor.rowcount} self-evaluation events up to {stop} "
                "have no opening"
            )
            raise LookupError(msg)
        # Indexed now, while the other threads are still at work: the few audit
        # rows of the other events go into an indexed table.
        store.create_indexes(cursor, [AUDIT_TRAIL])
        context = Context()
        _evaluations(cursor, context, names)
        _statuses(cursor, context, folded, names)
        # Each fold written as soon as it is ready (they fill different tables).
        for fold in folds:
            folded.merge(fold())
            store.write_folded(cursor, folded)
            folded = Folded()
        cursor.execute(sql.SQL("DROP TABLE {stage}").format(**names))


class _Others(Folded):
    """The fold of the events that are not self-evaluations', and how many."""

    count_events = 0


def _others(
    ledger: Ledger,
    store: PostgresReadStore,
    names: dict[str, Any],
    stop: int,
    batch: int,
    progress: Progress | None,
) -> _Others:
    """The other events (a few percent) through the live path's `changes`."""
    # One query: the library's `select_notifications` pages by position and
    # filters by topic, which walks the whole log once per page here.
    context, folded = Context(), _Others()
    with store.cursor() as cursor:
        cursor.execute(_PATIENT)  # it waits while Python decodes each page
        for notes in _other_events(cursor, names, stop, batch):
            for at, event in recorded_events(ledger, notes):
                folded.apply(changes(event, at, context))
            folded.count_events += len(notes)
            if progress:
                progress(len(notes))
    return folded


def _stage(cursor: Any, names: dict[str, Any], stop: int) -> int:
    """Parse the self-evaluation events up to `stop`; how many there are."""
    cursor.execute(
        sql.SQL(_STAGE).format(
            **names,
            topics=sql.Literal(list(SELF_EVALUATION_TOPICS)),
            labels=sql.Literal(list(_BY_LABEL)),
            stop=sql.Literal(stop),
            omitted=sql.Literal([*EVENT_META, *OWN_COLUMNS]),
        )
    )
    return int(cursor.rowcount)


def _scored(ledger: Ledger, store: PostgresReadStore, names: dict[str, Any]) -> Folded:
    """The item-point and total rows of every self-evaluation (read only).

    From every sub-item's latest answer, which the database works out; one row per
    self-evaluation comes back (a few thousand JSON documents are much quicker to
    fetch than a row per answer).
    """
    context, folded = Context(LedgerSource(ledger)), Folded()  # for the catalogues
    with store.cursor() as cursor:
        cursor.execute(sql.SQL(_EVALUATIONS).format(**names))
        _evaluations(cursor, context, names)
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
        context.evaluations[originator_id] = Evaluation(
            lg_code, grant_year, tier, version
        )


def _statuses(
    cursor: Any, context: Context, folded: Folded, names: dict[str, Any]
) -> None:
    events: defaultdict[object, dict[type[SelfEvaluation.Event], tuple[int, int]]]
    events = defaultdict(dict)
    cursor.execute(sql.SQL(_SUMMARY).format(**names))
    for row in cursor.fetchall():
        originator_id, label, count, last = _row(row)
        events[originator_id][_BY_LABEL[label]] = (count, last)
    # When the last event of each was recorded: from its audit row, by position.
    last = {
        originator_id: max(at for _, at in counted.values())
        for originator_id, counted in events.items()
    }
    cursor.execute(sql.SQL(_RECORDED_AT).format(**names), (list(last.values()),))
    recorded = dict(_row(row) for row in cursor.fetchall())
    folded.apply(
        summary(
            context.evaluation(originator_id), counted, recorded[last[originator_id]]
        )
        for originator_id, counted in events.items()
    )


def _row(row: Any) -> list[Any]:
    # The library's connections return dict rows.
    return list(row.values()) if isinstance(row, dict) else list(row)
