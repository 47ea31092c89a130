"""Money coming in: how the service hears of a transfer and stores it once.

- ``webhooks``: the banks' and the portal's callback endpoints (``bp``), thin;
- ``ingest``: the callback journal, authentication through ``bank_adapters``, one bank
  transaction per real transfer, the hooks that run on new transfers (``on_transfers``),
  the journal's retry (``retry_pending``);
- ``group_commit``: callbacks that arrive together share one commit;
- ``transactions``: the ``bank_transactions`` gateway, used by the ORM and the SQL paths alike;
- ``statement_import``: statement files (``import_statement``), their balance proofs, and the
  lines no callback announced matched at once (``match_new_lines``);
- ``dropfolder``: statements dropped in a folder (a scheduled job).

Others may use ``import_statement``, ``ImportSummary``, ``on_transfers`` and the blueprint; the
rest is this package's own.
"""
