"""Deciding whose money a transfer is, and writing what follows.

- ``matcher``: the decision for one transfer, a pure function of its facts (``decide``);
- ``lookup``: what the matcher may ask of the records, from the database;
- ``reconcile``: one transfer through the matcher (``match_transaction``), decisions recorded;
- ``bulk``: many transfers at once (``match_many``): the callbacks' fast path, statement
  imports and runs, their decisions recorded and their money planned;
- ``allocation``: one payment or one reversal at a time (``allocate``, ``reverse``): manual
  matches, cash, the portal, unmatches and reversals, checked and planned;
- ``writer``: the one writer of money (``apply``): every plan, of one or of thousands, is
  written here, set-based;
- ``manual``: a finance officer's match, split, unmatch and not-ours;
- ``cash``: cash taken at the counter.

The writer takes every money rule from ``payments.money_rules``: nothing here decides a
state, a channel, a receipt, an event or a cancellation on its own. Others may use
``match_many``, ``match_transaction``, ``allocate``, ``reverse``, ``active_allocations``, the
``manual`` acts and ``record_cash``.
"""
