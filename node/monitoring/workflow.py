"""What the bank does about an alert, tracked as a workflow state.

An alert opens ``open``. Acknowledging it makes it ``acknowledged``; each action the bank
takes moves it to the state that action leaves it in (an on-site inspection task, a
repayment reminder sent, the credit limit frozen); closing it ends it. Acting on an open
alert acknowledges it implicitly. A closed alert takes no further action: a new level
change raises a new alert.
"""

from __future__ import annotations

from typing import Final

from node.monitoring.exceptions import InvalidTransition

OPEN: Final = "open"
CLOSED: Final = "closed"
# action -> the state it leaves the alert in
ACTIONS: Final[dict[str, str]] = {
    "acknowledge": "acknowledged",
    "inspection": "inspection_scheduled",
    "reminder": "reminder_sent",
    "limit_freeze": "limit_frozen",
    "close": CLOSED,
}
STATES: Final = (OPEN, *ACTIONS.values())


def next_state(state: str, action: str) -> str:
    """The state ``action`` leaves an alert in that is now in ``state``.

    Raises
    ------
    InvalidTransition
        Unknown action, an acknowledgement of an alert already past ``open``, or any action
        on a closed alert.
    """
    if action not in ACTIONS:
        raise InvalidTransition(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if state == CLOSED:
        raise InvalidTransition("the alert is closed; a new warning raises a new alert")
    if action == "acknowledge" and state != OPEN:
        raise InvalidTransition(f"the alert is already {state}; record an action or close it")
    return ACTIONS[action]
