"""The pages of reconciliation, thin: the finance officer's workspace (``finance`` with its
forms, labels and read-only queries), the counter's cash form (``cash_views``), the
administrator's outbound event log (``admin_events``) and the CSV/XLSX exports
(``exports``). They call the rules in ``matching`` and ``workflow`` and show refusals with
``core.refusals.refusal_text``; nothing else imports them but ``app.py``.
"""
