"""The service talking to other systems: the national portal's payment platform (``portal``,
its client ``portal_client``) and the outbound events to the one-stop dossier system
(``outbox``: written in the transaction of the change they report, delivered by a job).
Others may use ``outbox.emit``, ``outbox.deliver_due`` and the portal's start and query
functions.
"""
