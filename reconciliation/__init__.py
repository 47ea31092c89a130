"""Reconciliation: money in, matched to dossiers, and the day closed against the bank.

- ``inbound``: callbacks, the journal, bank transactions, statement import;
- ``matching``: the matcher and the two writers (one at a time, set-based), manual acts, cash;
- ``workflow``: the exceptions queue, refunds, the statement run and daily close;
- ``channels``: the national portal's platform and the outbound events;
- ``web``, ``api``: the pages and the REST API;
- ``models``, ``cli``, ``scheduler``.

Nothing happens on import: ``create_app`` (``app.py``) connects the hooks (matching on the
fast path, the portal's confirmations, the payments a dossier lists, the event of a cancelled
request) and the jobs, and adds this package's operations to the API description.
"""
