"""What finance officers work through after the machines: the exceptions queue
(``exceptions``), refunds with four eyes (``refunds``), and the statement run and daily close
(``close``: a day closes only once it has ended and a statement covers it; a closed day changes
only through a recorded reopen). Others may use the functions these modules name in their
docstrings; the pages are in ``reconciliation.web``.
"""
