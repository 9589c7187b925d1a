"""The decision API every path out of a node goes through: authorize, apply, reload.

``PolicyEngine`` holds one immutable ``Policy`` snapshot. Each call reads the snapshot once
at its start and uses it to the end, and ``reload`` builds the next snapshot completely before
swapping a single reference; so a reload is atomic and an in-flight request finishes on the
version it started with (the version its decision names). A reload that fails validation
leaves the running policy in place.

Order of checks for a caller (each failure is recorded, then raised):

1. the organization in the certificate is registered (``UnknownOrganization``);
2. the certificate's role is the one registered for it (``RoleMismatch``);
3. the role may act for the purpose at all (``PurposeNotPermitted``);
4. for data purposes, the dataset and fields are declared (``UnknownDataset``/``UnknownField``)
   and each field has a rule for this recipient and purpose (``RuleMissing``, naming every
   missing rule). Deny by default: no rule, no data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

import numpy as np
import pandas as pd

from node.policy.decision import Decision, DecisionLog, DecisionSink, FieldDecision
from node.policy.exceptions import (
    FilterNotPermitted,
    MissingRule,
    PolicyDenied,
    PurposeNotPermitted,
    RoleMismatch,
    RuleMissing,
    UnknownDataset,
    UnknownField,
    UnknownOrganization,
)
from node.policy.loader import load_policy
from node.policy.model import DATA_PURPOSES, Identity, Policy, Purpose, Role
from node.policy.query import evaluate, parse_filter
from node.policy.transforms import TransformContext

log = logging.getLogger("fedcredit.policy.engine")

# 32 bytes: the HMAC-SHA-256 key size; a shorter key weakens every hash and token derived.
MIN_NODE_KEY_BYTES = 32


@dataclass(frozen=True)
class MaskedFrame:
    """A frame after the policy: only released fields, each transformed; and the decision."""

    frame: pd.DataFrame
    version: str
    decision: Decision

    @property
    def decisions(self) -> tuple[FieldDecision, ...]:
        """Per-field outcome."""
        return self.decision.fields


class PolicyEngine:
    """Field-level policy decisions and enforcement for one node.

    Parameters
    ----------
    policy
        The loaded policy (see ``load``).
    node_key
        The node's secret, at least 32 bytes; hashes, tokens and date shifts derive from it, so
        the same key must be used across restarts for tokens to stay stable.
    source
        Where the policy came from (file or folder), for ``reload``.
    on_decision
        Receives every decision, allowed or denied; defaults to an in-memory ``DecisionLog``.
    rng_factory
        Makes the random generator for noise per call; tests inject a seeded one.
    """

    def __init__(
        self,
        policy: Policy,
        node_key: bytes,
        source: Path | None = None,
        on_decision: DecisionSink | None = None,
        rng_factory: Callable[[], np.random.Generator] = np.random.default_rng,
    ) -> None:
        if not isinstance(node_key, bytes) or len(node_key) < MIN_NODE_KEY_BYTES:
            raise ValueError(
                f"node_key must be at least {MIN_NODE_KEY_BYTES} random bytes; "
                "generate one with os.urandom(32) and keep it with the node's secrets"
            )
        self._policy = policy
        self._key = node_key
        self._source = source
        self._reload_lock = Lock()
        self.decisions = on_decision if on_decision is not None else DecisionLog()
        self._rng_factory = rng_factory

    @classmethod
    def load(
        cls,
        path: Path | str,
        node_key: bytes,
        on_decision: DecisionSink | None = None,
        rng_factory: Callable[[], np.random.Generator] = np.random.default_rng,
    ) -> PolicyEngine:
        """Load the policy file or folder at ``path``.

        Raises
        ------
        PolicyFileError
            The policy does not validate (names file, line and key).
        ValueError
            ``node_key`` is shorter than 32 bytes.
        """
        return cls(load_policy(path), node_key, Path(path), on_decision, rng_factory)

    @property
    def version(self) -> str:
        """Content hash of the current policy."""
        return self._policy.version

    @property
    def policy(self) -> Policy:
        """The current snapshot (immutable)."""
        return self._policy

    def reload(self) -> tuple[str, str]:
        """Re-read the policy from its source and swap it in atomically.

        Returns
        -------
        tuple[str, str]
            The old and the new version (equal when nothing changed).

        Raises
        ------
        PolicyFileError
            The new policy does not validate; the old one stays in force.
        RuntimeError
            The engine was built from a ``Policy`` object, not a path.
        """
        if self._source is None:
            raise RuntimeError("this engine has no policy path to reload from; use load()")
        with self._reload_lock:
            old = self._policy.version
            fresh = load_policy(self._source)
            self._policy = fresh
        log.info("policy reloaded: %s -> %s", old[:16], fresh.version[:16])
        return old, fresh.version

    # -- decisions ---------------------------------------------------------------------------

    def _record(self, decision: Decision) -> None:
        level = logging.INFO if decision.allowed else logging.WARNING
        log.log(
            level,
            "policy decision %s: %s org=%s role=%s purpose=%s dataset=%s version=%s",
            decision.decision_id,
            decision.code,
            decision.organization,
            decision.role,
            decision.purpose,
            decision.dataset,
            decision.version[:16],
        )
        self.decisions(decision)

    def _deny(
        self,
        policy: Policy,
        identity: Identity,
        purpose: str,
        error: PolicyDenied,
        dataset: str | None = None,
        requested: Sequence[str] = (),
    ) -> PolicyDenied:
        self._record(
            Decision(
                allowed=False,
                code=error.code,
                version=policy.version,
                organization=identity.organization,
                node_id=identity.node_id,
                role=identity.role,
                purpose=purpose,
                dataset=dataset,
                requested=tuple(requested),
                missing=error.missing,
                reason=str(error),
            )
        )
        return error

    def _check_caller(
        self,
        policy: Policy,
        identity: Identity,
        purpose: str,
        dataset: str | None = None,
        requested: Sequence[str] = (),
    ) -> tuple[Role, Purpose]:
        error = self._caller_error(policy, identity, purpose)
        if error is not None:
            raise self._deny(policy, identity, purpose, error, dataset, requested)
        return Role(identity.role), Purpose(purpose)

    @staticmethod
    def _caller_error(policy: Policy, identity: Identity, purpose: str) -> PolicyDenied | None:
        v = policy.version
        org, claimed = identity.organization, identity.role
        held = policy.organizations.get(org)
        if held is None:
            return UnknownOrganization(
                f"organization {org!r} is not registered in this node's policy; the node "
                f"operator must add '{org}: {claimed}' under organizations: in it and reload it "
                "(fedcredit policy reload) before it can be served",
                v,
            )
        if claimed not in {r.value for r in held}:
            return RoleMismatch(
                f"certificate of {org!r} claims role {claimed!r} but the policy registers it as "
                f"{'/'.join(sorted(r.value for r in held))}; use a certificate issued for a "
                "registered role",
                v,
            )
        allowed = policy.roles.get(Role(claimed), frozenset())
        if purpose not in {p.value for p in allowed}:
            names = ", ".join(sorted(p.value for p in allowed)) or "none"
            return PurposeNotPermitted(
                f"role {claimed!r} may not act for purpose {purpose!r} on this node (allowed: "
                f"{names}); ask for a permitted purpose or have the operator grant it under roles:",
                v,
            )
        return None

    def check_purpose(self, identity: Identity, purpose: str) -> Decision:
        """Role-based check for an RPC: may this caller act for ``purpose`` at all?

        Raises
        ------
        UnknownOrganization, RoleMismatch, PurposeNotPermitted
            The caller is refused; the refusal is recorded first.
        """
        policy = self._policy
        self._check_caller(policy, identity, purpose)
        decision = Decision(
            True,
            "allowed",
            policy.version,
            identity.organization,
            identity.node_id,
            identity.role,
            purpose,
        )
        self._record(decision)
        return decision

    def _decide(
        self,
        policy: Policy,
        identity: Identity,
        purpose: str,
        dataset: str,
        fields: Sequence[str],
        filter_fields: Sequence[str] = (),
    ) -> Decision:
        role, p = self._check_caller(policy, identity, purpose, dataset, fields)
        v = policy.version
        if p not in DATA_PURPOSES:
            raise self._deny(
                policy,
                identity,
                purpose,
                PurposeNotPermitted(
                    f"purpose {purpose!r} does not move data; "
                    "use training, scoring, monitoring or release",
                    v,
                ),
                dataset,
                fields,
            )
        ds = policy.datasets.get(dataset)
        if ds is None:
            raise self._deny(
                policy,
                identity,
                purpose,
                UnknownDataset(
                    f"dataset {dataset!r} is not described by this node's policy; ask for one of "
                    f"{', '.join(sorted(policy.datasets))}",
                    v,
                ),
                dataset,
                fields,
            )
        unknown = [f for f in (*fields, *filter_fields) if f not in ds.fields]
        if unknown:
            raise self._deny(
                policy,
                identity,
                purpose,
                UnknownField(
                    f"{len(unknown)} requested field(s) of {dataset!r} are not in the policy: "
                    f"{', '.join(repr(u) for u in unknown[:10])}; only declared fields are served",
                    v,
                ),
                dataset,
                fields,
            )
        out: list[FieldDecision] = []
        missing: list[MissingRule] = []
        for name in fields:
            rule = policy.lookup(dataset, name, p, role, identity.organization)
            fclass = ds.fields[name].field_class.value
            if rule is None:
                missing.append(
                    MissingRule(dataset, name, fclass, role.value, identity.organization, purpose)
                )
            else:
                out.append(
                    FieldDecision(
                        name, fclass, rule.transform.describe(), rule.source, rule.tolerance
                    )
                )
        if missing:
            text = "; ".join(m.describe() for m in missing[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise self._deny(
                policy,
                identity,
                purpose,
                RuleMissing(
                    f"denied by default: {text}{more}; add the rule(s) to the policy or leave the "
                    "field(s) out of the request",
                    v,
                    tuple(missing),
                ),
                dataset,
                fields,
            )
        opaque = []
        for name in filter_fields:
            rule = policy.lookup(dataset, name, p, role, identity.organization)
            if rule is None or rule.transform.name != "keep":
                opaque.append(name)
        if opaque:
            raise self._deny(
                policy,
                identity,
                purpose,
                FilterNotPermitted(
                    f"the filter uses field(s) {', '.join(repr(f) for f in opaque)} that this "
                    "recipient does not receive as they are; filter only on fields released "
                    "under keep",
                    v,
                ),
                dataset,
                fields,
            )
        decision = Decision(
            True,
            "allowed",
            v,
            identity.organization,
            identity.node_id,
            identity.role,
            purpose,
            dataset,
            tuple(fields),
            tuple(out),
        )
        self._record(decision)
        return decision

    def authorize(
        self, identity: Identity, purpose: str, dataset: str, fields: Sequence[str]
    ) -> Decision:
        """Decide whether ``fields`` of ``dataset`` may go to ``identity`` for ``purpose``.

        Raises
        ------
        PolicyDenied
            One of its subclasses (see the module docstring); recorded before it is raised.
        """
        return self._decide(self._policy, identity, str(purpose), dataset, list(fields))

    def apply(
        self,
        identity: Identity,
        purpose: str,
        dataset: str,
        frame: pd.DataFrame,
        fields: Sequence[str] | None = None,
        row_filter: str = "",
    ) -> MaskedFrame:
        """Authorize and transform: the frame the recipient may receive.

        Parameters
        ----------
        fields
            The columns to release, in order; default all columns of ``frame``. Other columns
            of ``frame`` (such as the id column a date shift is keyed by) are read, not sent.
        row_filter
            Optional filter in the subset of pandas query syntax of ``node.policy.query``;
            it may use only fields this recipient receives under ``keep``.

        Raises
        ------
        PolicyDenied
            As ``authorize``, or ``FilterNotPermitted``; nothing is transformed.
        ReleaseQueryError
            The filter is outside the accepted syntax.
        TransformError
            A column does not suit its transformation (for instance text under ``bucket``).
        """
        policy = self._policy  # one snapshot for the whole call, even across a reload
        names = list(frame.columns if fields is None else fields)
        tree, filter_fields = parse_filter(row_filter)
        decision = self._decide(policy, identity, str(purpose), dataset, names, filter_fields)
        if tree is not None:
            frame = frame.loc[evaluate(tree, frame)]
        return self._transform(policy, decision, identity.organization, frame)

    def _transform(
        self, policy: Policy, decision: Decision, recipient: str, frame: pd.DataFrame
    ) -> MaskedFrame:
        ds = policy.datasets[decision.dataset or ""]
        ctx = TransformContext(self._key, recipient, frame, ds.id_field, self._rng_factory())
        role = Role(decision.role)
        purpose = Purpose(decision.purpose)
        out: dict[str, pd.Series] = {}
        for fd in decision.fields:
            rule = policy.lookup(ds.name, fd.field, purpose, role, recipient)
            assert rule is not None  # decided on this very snapshot
            ctx.field = fd.field
            result = rule.transform.apply(frame[fd.field], ctx)
            if result is not None:
                out[fd.field] = result
        masked = pd.DataFrame(out, index=frame.index)
        return MaskedFrame(masked, policy.version, decision)

    def preview(
        self,
        role: str,
        purpose: str,
        dataset: str,
        frame: pd.DataFrame,
        organization: str = "preview",
    ) -> tuple[dict[str, str], pd.DataFrame]:
        """What ``role`` would receive for ``purpose``, field by field, for an operator's dry run.

        Unlike ``apply`` this does not refuse: a field without a rule is reported as denied and
        left out, and no decision is recorded (nothing leaves the node). Organization rules
        apply only when ``organization`` is given.

        Returns
        -------
        tuple[dict[str, str], pandas.DataFrame]
            Per column of ``frame``: the transformation or the reason it is withheld; and the
            frame of the columns that would leave, transformed.

        Raises
        ------
        KeyError
            ``dataset`` is not in the policy.
        ValueError
            ``role`` or ``purpose`` is not a known role or data purpose.
        """
        policy = self._policy
        ds = policy.datasets[dataset]
        r, p = Role(role), Purpose(purpose)
        if p not in DATA_PURPOSES:
            raise ValueError(
                f"purpose {purpose!r} does not move data; "
                "use training, scoring, monitoring or release"
            )
        outcome: dict[str, str] = {}
        out: dict[str, pd.Series] = {}
        ctx = TransformContext(self._key, organization, frame, ds.id_field, self._rng_factory())
        may_act = p in policy.roles.get(r, frozenset())
        for name in frame.columns:
            if name not in ds.fields:
                outcome[name] = "withheld: field not in policy"
                continue
            rule = policy.lookup(dataset, name, p, r, organization) if may_act else None
            if rule is None:
                outcome[name] = "denied: no rule" if may_act else f"denied: role may not {purpose}"
                continue
            ctx.field = name
            outcome[name] = rule.transform.describe()
            result = rule.transform.apply(frame[name], ctx)
            if result is not None:
                out[name] = result
        return outcome, pd.DataFrame(out, index=frame.index)

    def field_purposes(self, dataset: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Per field of ``dataset``: its class and the purposes some rule allows (capabilities).

        Raises
        ------
        KeyError
            ``dataset`` is not in the policy.
        """
        policy = self._policy
        ds = policy.datasets[dataset]
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, fdef in ds.fields.items():
            purposes = {
                r.purposes
                for r in ds.rules
                if (name in r.fields or fdef.field_class in r.classes)
                and r.transform.name != "drop"
            }
            flat = sorted({p.value for ps in purposes for p in ps})
            out[name] = (fdef.field_class.value, tuple(flat))
        return out
