"""Reports: the indicators the city is judged on (Quyết định 766/QĐ-TTg items 3.5, 3.5b, 3.6),
the cashless rate, the monthly public disclosure, money collected, payment times and the
reconciliation backlog per unit. Definitions and decisions: ``docs/REPORTS.md``.

Importing the package registers the ORM listeners that keep the reports' tables in step
(``reports.facts``); ``create_app`` imports it through its blueprints.
"""
from __future__ import annotations

from . import facts as _facts  # noqa: F401  (registers the listeners)
from . import jobs as _jobs  # noqa: F401  (the scheduled job that drains the reports' queue)
