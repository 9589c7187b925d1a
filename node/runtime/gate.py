"""The policy gate jobs pass before touching a field: every other party must be allowed it.

In a federated job, what a node computes from a field (encrypted partial scores, gradients,
aligned row indices) reaches the other parties of the job, so a field may be used only if the
node's policy grants it, for the job's purpose, to each of them. The check happens before any
data is read; a denial names the missing rule and fails the job on this node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from node.consent.gate import TrainingFirms, TrainingUse
from node.pki.identity import Principal
from node.policy import PolicyEngine


class PolicyGate:
    """``FieldGate`` for one job: the node's engine checked against each other party."""

    def __init__(
        self,
        engine: PolicyEngine,
        me: Principal,
        parties: Sequence[str],
        identity_of: Callable[[str], Principal],
        firms: TrainingFirms | None = None,
    ) -> None:
        self._firms = firms
        self._engine = engine
        self._me = me
        self._others = [p for p in parties if p != me.node_id]
        self._identity_of = identity_of

    def check(self, dataset: str, fields: Sequence[str], purpose: str) -> str:
        """Return the policy version that allows ``fields`` to every other party.

        Raises
        ------
        node.policy.PolicyDenied
            Some party lacks a rule; the message names the party, field and purpose.
        """
        version = self._engine.version
        for party in self._others:
            decision = self._engine.authorize(self._identity_of(party), purpose, dataset, fields)
            version = decision.version
        return version

    def check_own(self, dataset: str, fields: Sequence[str], purpose: str) -> str:
        """Return the policy version that allows this node itself to use ``fields``.

        For what a job uses but never sends, such as the label at the label holder.
        """
        return self._engine.authorize(self._me, purpose, dataset, fields).version

    def training_firms(self, codes: Sequence[str], for_party: str) -> TrainingUse | None:
        """Which rows (by firm code) training for ``for_party``'s organization may use, under
        the basis this node's policy states; ``None`` when this node keeps no authorizations.
        """
        if self._firms is None:
            return None
        recipient = (
            self._me if for_party == self._me.node_id else self._identity_of(for_party)
        ).organization
        return self._firms.select(codes, recipient)
