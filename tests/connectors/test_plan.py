"""The sync planner: the hand-edit policy, the past, duplicates, and plan-apply-plan is empty."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.model import LedgerEntry, LedgerState, PushEvent, RemoteEvent, push_key
from connectors.plan import Create, Delete, SyncPlan, Update, plan

TODAY = dt.date(2026, 11, 23)


def item(
    n: int, day: dt.date = dt.date(2027, 1, 10), title: str = "Top-up round closes"
) -> PushEvent:
    return PushEvent(
        identity=f"s1/la-888/topup/2026/{n}",
        summary=f"{title} {n}",
        description="Send element 3 applications.",
        start=day,
        end=day + dt.timedelta(days=1),
        reminders=(10080, 1440),
    )


def there(
    p: PushEvent,
    *,
    live: bool = True,
    remote_id: str | None = None,
    content_hash: str | None = "same",
    last_day: dt.date | None = None,
) -> RemoteEvent:
    return RemoteEvent(
        remote_id=remote_id or f"r{p.key[:8]}",
        key=p.key,
        content_hash=p.content_hash if content_hash == "same" else content_hash,
        live=live,
        last_day=last_day or p.last_day,
    )


def entry(
    p: PushEvent, remote_id: str | None = None, state: LedgerState = LedgerState.LIVE
) -> LedgerEntry:
    return LedgerEntry(p.key, remote_id or f"r{p.key[:8]}", p.content_hash, p.last_day, state)


def test_a_new_event_is_created_and_an_unchanged_one_causes_no_write():
    a, b = item(1), item(2)
    result = plan([a, b], [there(a)], {a.key: entry(a)}, TODAY)
    assert [c.item for c in result.creates] == [b]
    assert not result.updates and not result.deletes
    assert result.unchanged == 1


def test_changed_content_is_an_update_of_the_same_remote_event_not_a_new_one():
    old = item(1)
    moved = item(1, day=dt.date(2027, 1, 17))
    result = plan([moved], [there(old)], {old.key: entry(old)}, TODAY)
    assert [(u.remote.remote_id, u.item) for u in result.updates] == [(there(old).remote_id, moved)]
    assert not result.creates and not result.deletes


def test_an_event_edited_by_hand_keeps_the_edit_until_our_content_changes():
    ours = item(1)
    edited = there(ours, last_day=dt.date(2027, 1, 12))  # a person moved it two days on
    assert plan([ours], [edited], {ours.key: entry(ours)}, TODAY).empty
    reworded = item(1, title="Top-up applications close")
    result = plan([reworded], [edited], {ours.key: entry(ours)}, TODAY)
    assert [u.item for u in result.updates] == [reworded]


def test_an_event_deleted_by_hand_stays_deleted_until_its_content_changes_on_google():
    ours = item(1)
    tombstone = there(ours, live=False)
    assert plan([ours], [tombstone], {ours.key: entry(ours)}, TODAY).empty
    changed = item(1, day=dt.date(2027, 1, 24))
    result = plan([changed], [tombstone], {ours.key: entry(ours)}, TODAY)
    assert [(u.item, u.revive) for u in result.updates] == [(changed, True)]


def test_an_event_deleted_by_hand_on_a_remote_without_tombstones_is_remembered_by_the_ledger():
    ours = item(1)
    result = plan([ours], [], {ours.key: entry(ours)}, TODAY)
    assert result.empty
    assert result.ledger == (entry(ours, state=LedgerState.DELETED_BY_HAND),)
    again = plan([ours], [], {ours.key: result.ledger[0]}, TODAY)
    assert again.empty and again.ledger == ()
    changed = item(1, title="Top-up applications close")
    assert [c.item for c in plan([changed], [], {ours.key: result.ledger[0]}, TODAY).creates] == [
        changed
    ]


def test_with_the_ledger_lost_the_remote_is_found_by_tag_and_nothing_is_written_twice():
    a, b = item(1), item(2)
    result = plan([a, b], [there(a), there(b)], {}, TODAY)
    assert result.empty
    assert {e.key for e in result.ledger} == {a.key, b.key}


def test_an_event_no_longer_wanted_is_deleted_but_a_past_one_is_left_alone():
    gone = item(1)
    past = item(2, day=dt.date(2026, 10, 9))
    result = plan([], [there(gone), there(past)], {}, TODAY)
    assert [d.remote.key for d in result.deletes] == [gone.key]
    assert result.kept_past == 1


def test_a_past_event_is_never_moved_even_when_our_content_changes():
    past = item(1, day=dt.date(2026, 10, 9))
    moved = item(1, day=dt.date(2026, 12, 4))
    result = plan([moved], [there(past)], {past.key: entry(past)}, TODAY)
    assert result.empty and result.kept_past == 1


def test_an_event_ending_today_is_not_past():
    today_event = item(1, day=TODAY)
    result = plan([], [there(today_event)], {}, TODAY)
    assert len(result.deletes) == 1


def test_two_remote_copies_of_one_event_leave_exactly_one_the_ledgers():
    a = item(1)
    first, second = there(a, remote_id="r-first"), there(a, remote_id="r-second")
    result = plan([a], [first, second], {a.key: entry(a, remote_id="r-second")}, TODAY)
    assert [(d.remote.remote_id, d.duplicate) for d in result.deletes] == [("r-first", True)]
    assert result.writes[0] == Delete(first, duplicate=True)


def test_a_ledger_entry_with_nothing_behind_it_is_forgotten():
    a = item(1)
    assert plan([], [], {a.key: entry(a)}, TODAY).forget == (a.key,)


def test_push_keys_name_no_school_and_no_pupil():
    key = push_key("demo-primary/senco-annual-cycle/ehcp-review/2026/prep:papers/pupil:P-0412")
    assert "demo" not in key and "P-0412" not in key and len(key) == 32


# --- plan, apply, plan again ---------------------------------------------------------------


class Calendar:
    """A remote calendar as the planner sees it: our events by id, tombstones or not."""

    def __init__(self, tombstones: bool) -> None:
        self.tombstones = tombstones
        self.events: dict[str, RemoteEvent] = {}
        self.ledger: dict[str, LedgerEntry] = {}
        self.next_id = 0

    def apply(self, result: SyncPlan) -> None:
        for e in result.ledger:
            self.ledger[e.key] = e
        for key in result.forget:
            self.ledger.pop(key, None)
        for write in result.writes:
            if isinstance(write, Create):
                self.next_id += 1
                rid = f"id{self.next_id}"
                self.events[rid] = RemoteEvent(
                    rid, write.key, write.item.content_hash, True, write.item.last_day
                )
                self.ledger[write.key] = LedgerEntry(
                    write.key, rid, write.item.content_hash, write.item.last_day
                )
            elif isinstance(write, Update):
                rid = write.remote.remote_id
                self.events[rid] = RemoteEvent(
                    rid, write.key, write.item.content_hash, True, write.item.last_day
                )
                self.ledger[write.key] = LedgerEntry(
                    write.key, rid, write.item.content_hash, write.item.last_day
                )
            else:
                rid = write.remote.remote_id
                self.delete(rid)
                if not write.duplicate:
                    self.ledger.pop(write.key, None)

    def delete(self, rid: str) -> None:
        if self.tombstones:
            self.events[rid] = replace(self.events[rid], live=False)
        else:
            del self.events[rid]

    def sync(self, desired: list[PushEvent], today: dt.date) -> SyncPlan:
        result = plan(desired, list(self.events.values()), self.ledger, today)
        self.apply(result)
        return result


days = st.dates(min_value=dt.date(2026, 9, 1), max_value=dt.date(2027, 8, 31))
desired_sets = st.dictionaries(
    st.integers(0, 30), st.tuples(days, st.sampled_from(["A", "B"])), max_size=25
)


@settings(max_examples=150, deadline=None)
@given(
    before=desired_sets,
    after=desired_sets,
    tombstones=st.booleans(),
    hand_deletes=st.sets(st.integers(0, 30), max_size=5),
    ledger_lost=st.booleans(),
    today=days,
)
def test_applying_a_plan_and_planning_again_gives_an_empty_plan(
    before, after, tombstones, hand_deletes, ledger_lost, today
):
    cal = Calendar(tombstones)
    first = [item(n, day, title) for n, (day, title) in sorted(before.items())]
    cal.sync(first, today)
    for n in hand_deletes:
        key = item(n).key
        for rid, e in list(cal.events.items()):
            if e.key == key and e.live:
                cal.delete(rid)
    if ledger_lost:
        cal.ledger.clear()
    second = [item(n, day, title) for n, (day, title) in sorted(after.items())]
    cal.sync(second, today)
    again = plan(second, list(cal.events.values()), cal.ledger, today)
    assert again.empty
    live = {e.key: e for e in cal.events.values() if e.live}
    # never a duplicate
    assert len(live) == len([e for e in cal.events.values() if e.live])
    for p in second:
        if p.key in live:
            assert live[p.key].content_hash == p.content_hash or live[p.key].last_day < today
    # everything wanted is there unless a person deleted it with nothing new to say, or it was
    # left as it was because it is past
    wanted = {p.key for p in second}
    for key, e in live.items():
        assert key in wanted or e.last_day < today
    # and a wanted event is missing only where a person deleted it and we have nothing new
    first_by_key = {p.key: p for p in first}
    for n, p in zip(sorted(after), second, strict=True):
        if p.key in live:
            continue
        assert n in hand_deletes, f"event {n} was lost"
        assert first_by_key[p.key].content_hash == p.content_hash
        assert tombstones or not ledger_lost  # without both, nothing remembers the deletion
