"""Schemas of the synthetic tables: the column contract and each field's class.

Classes follow JR/T 0171-2020 in spirit and match the default policies in ``policies/``: C3
for identifiers of firms and people and for contact and account data (USCC, names of people,
resident ID and phone numbers, account numbers), C2 for business and credit information
(financial and behavioural figures, address, registration date, the label), C1 for low-harm
facts (months, relationship length, a published rating), ``public`` for the industry section.
A test checks that these classes equal the default policies' classes.
"""

from __future__ import annotations

from typing import Final

from node.data.schema import DatasetSchema, FieldSpec, FieldType, Sensitivity

_I, _F, _S, _D = FieldType.INT, FieldType.FLOAT, FieldType.STR, FieldType.DATE
_C3, _C2, _C1, _PUB = Sensitivity.C3, Sensitivity.C2, Sensitivity.C1, Sensitivity.PUBLIC

_USCC = FieldSpec("uscc", _S, _C3, description="unified social credit code (GB 32100-2015)")

GOVERNMENT: Final = DatasetSchema(
    name="government",
    id_column="uscc",
    fields=(
        _USCC,
        FieldSpec("firm_name", _S, _C2, description="registered firm name"),
        FieldSpec("legal_rep_name", _S, _C3, description="legal representative's name"),
        FieldSpec("legal_rep_id_number", _S, _C3, description="18-character resident ID number"),
        FieldSpec("legal_rep_phone", _S, _C3, description="11-digit mobile number"),
        FieldSpec("address_code", _S, _C2, description="6-digit administrative division code"),
        FieldSpec("registration_date", _D, _C2, description="date of business registration"),
        FieldSpec("industry_code", _S, _PUB, description="GB/T 4754 section letter + division"),
        FieldSpec("tax_paid_12m", _F, _C2, description="tax paid, last 12 months, yuan"),
        FieldSpec("tax_growth_12m", _F, _C2, description="tax paid vs the 12 months before"),
        FieldSpec("tax_arrears_months", _I, _C2, description="months in arrears, last 12"),
        FieldSpec("ss_headcount", _I, _C2, description="social-security headcount"),
        FieldSpec("ss_headcount_change_6m", _I, _C2, description="headcount change over 6 months"),
        FieldSpec("electricity_kwh_12m", _F, _C2, description="electricity used, last 12 months"),
        FieldSpec("electricity_growth_12m", _F, _C2, description="electricity vs 12 months before"),
        FieldSpec("court_judgments_24m", _I, _C2, description="court judgments, last 24 months"),
        FieldSpec("court_amount_24m", _F, _C2, description="amount of those judgments, yuan"),
    ),
)

BANK: Final = DatasetSchema(
    name="bank",
    id_column="uscc",
    label_column="default_12m",
    fields=(
        _USCC,
        FieldSpec("account_no", _S, _C3, description="19-digit account number"),
        FieldSpec("contact_phone", _S, _C3, description="11-digit mobile number"),
        FieldSpec("loan_amount", _F, _C2, description="outstanding loan, yuan"),
        FieldSpec("loan_term_months", _I, _C2, description="loan term"),
        FieldSpec("account_inflow_6m", _F, _C2, description="account inflow, last 6 months"),
        FieldSpec("account_outflow_6m", _F, _C2, description="account outflow, last 6 months"),
        FieldSpec("overdue_count_12m", _I, _C2, description="months with overdue payments"),
        FieldSpec("max_overdue_days_12m", _I, _C2, description="longest overdue, days"),
        FieldSpec("relationship_months", _I, _C1, description="months as the bank's customer"),
        FieldSpec("default_12m", _I, _C2, description="1 = default within 12 months (label)"),
    ),
)

THIRD_PARTY: Final = DatasetSchema(
    name="third_party",
    id_column="uscc",
    fields=(
        _USCC,
        FieldSpec("invoice_total_12m", _F, _C2, description="invoiced, last 12 months, yuan"),
        FieldSpec("invoice_count_12m", _I, _C2, description="invoices issued, last 12 months"),
        FieldSpec("invoice_growth_12m", _F, _C2, description="invoiced vs 12 months before"),
        FieldSpec("ecommerce_sales_12m", _F, _C2, description="online sales, 0 when not online"),
        FieldSpec(
            "ecommerce_rating",
            _F,
            _C1,
            required=False,
            description="platform rating 1-5, empty when the firm does not sell online",
        ),
        FieldSpec("bureau_flags", _I, _C2, description="negative credit-bureau records"),
        FieldSpec("bureau_inquiries_6m", _I, _C2, description="credit inquiries, last 6 months"),
    ),
)

SNAPSHOT_SCHEMAS: Final = {"government": GOVERNMENT, "bank": BANK, "third_party": THIRD_PARTY}

_MONTH = FieldSpec("month", _D, _C1, description="first day of the month")

GOVERNMENT_MONTHLY: Final = DatasetSchema(
    name="government_monthly",
    id_column="uscc",
    key_columns=("month",),
    fields=(
        _USCC,
        _MONTH,
        FieldSpec("tax_paid", _F, _C2, description="tax paid that month, yuan"),
        FieldSpec("ss_headcount", _I, _C2, description="social-security headcount"),
        FieldSpec("electricity_kwh", _F, _C2, description="electricity used that month"),
        FieldSpec("new_court_cases", _I, _C2, description="court cases opened that month"),
    ),
)

BANK_MONTHLY: Final = DatasetSchema(
    name="bank_monthly",
    id_column="uscc",
    key_columns=("month",),
    fields=(
        _USCC,
        _MONTH,
        FieldSpec("inflow", _F, _C2, description="account inflow that month, yuan"),
        FieldSpec("outflow", _F, _C2, description="account outflow that month, yuan"),
        FieldSpec("overdue_days", _I, _C2, description="days overdue at month end"),
    ),
)

THIRD_PARTY_MONTHLY: Final = DatasetSchema(
    name="third_party_monthly",
    id_column="uscc",
    key_columns=("month",),
    fields=(
        _USCC,
        _MONTH,
        FieldSpec("invoice_total", _F, _C2, description="invoiced that month, yuan"),
        FieldSpec("ecommerce_sales", _F, _C2, description="online sales that month, yuan"),
    ),
)

BANK_DEFAULTS: Final = DatasetSchema(
    name="bank_defaults",
    id_column="uscc",
    fields=(
        _USCC,
        FieldSpec("default_month", _D, _C2, description="month of the first default"),
    ),
)

#: Every written table's schema, by table name (snapshots, panels, default events).
ALL_SCHEMAS: Final = {
    **SNAPSHOT_SCHEMAS,
    "government_monthly": GOVERNMENT_MONTHLY,
    "bank_monthly": BANK_MONTHLY,
    "third_party_monthly": THIRD_PARTY_MONTHLY,
    "bank_defaults": BANK_DEFAULTS,
}
