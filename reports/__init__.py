"""Reports: the indicators the city is judged on (Quyết định 766/QĐ-TTg items 3.5, 3.5b, 3.6),
the cashless rate, the monthly public disclosure, money collected, payment times and the
reconciliation backlog per unit. Definitions and decisions: ``docs/REPORTS.md``.

``create_app`` installs the ORM listeners that keep the reports' tables in step
(``reports.facts.install``) and registers the job that drains their queue (``reports.jobs``).
"""
