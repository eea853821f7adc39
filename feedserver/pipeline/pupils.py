"""What a school's evaluation takes about its pupils: the opened roster and earlier proposals.

The roster is opened (decrypted) only for a school that has one, inside the job or preview that
evaluates it. ``placed`` is each pupil's proposed (not booked) review meeting as the school's
stored events hold it, so a new evaluation places new meetings around the earlier ones instead
of reshuffling them (:func:`rules.ehcp.placed_meetings`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from feedserver.storage import events as event_store
from feedserver.storage import roster as roster_store
from feedserver.storage.secretbox import SecretBox
from rules.ehcp import placed_meetings
from rules.roster import Roster


@dataclass(frozen=True)
class PupilInputs:
    """The roster and the meetings proposed before, for one school's evaluation."""

    roster: Roster = ()
    placed: Mapping[str, dt.date] = field(default_factory=dict)


NONE = PupilInputs()


def pupil_inputs(
    session: Session, school_id: str, years: Iterable[int], box: SecretBox | None = None
) -> PupilInputs:
    """The school's roster (opened with ``box``, else the process's key set) and placed meetings.

    Raises:
        SecretUnreadable: the roster was sealed with a key no longer configured.
    """
    if roster_store.fingerprint(session, school_id) == roster_store.EMPTY_FINGERPRINT:
        return NONE
    if box is None:
        from feedserver import runtime

        box = runtime.current().secretbox
    roster = roster_store.read(session, box, school_id)
    live, _ = event_store.window(session, school_id, years)
    return PupilInputs(roster, placed_meetings(live))
