"""sencocal's pure core: rule packs, the date language, school profiles and the evaluator.

Nothing here does I/O, reads a clock or the environment: callers pass bytes and dates in.
"""

from __future__ import annotations

from rules.audiences import for_audience
from rules.errors import PackConflict, PackError, PackRejected, SencocalInputError
from rules.evaluate import Evaluation, evaluate, evaluate_full
from rules.event import Event, EventBody, EventKey
from rules.loading import load_pack
from rules.memo import Memo
from rules.pack import Pack, Rule
from rules.profile import SchoolProfile, load_profile
from rules.warning import EvalWarning, WarningKind

__all__ = [
    "EvalWarning",
    "Evaluation",
    "Event",
    "EventBody",
    "EventKey",
    "Memo",
    "Pack",
    "PackConflict",
    "PackError",
    "PackRejected",
    "Rule",
    "SchoolProfile",
    "SencocalInputError",
    "WarningKind",
    "evaluate",
    "evaluate_full",
    "for_audience",
    "load_pack",
    "load_profile",
]
