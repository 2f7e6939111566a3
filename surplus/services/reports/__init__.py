"""What Maillon reports: figures for funders (summary), the FSE+ register and the
donors' donation documents. ``period`` and ``ledger`` are shared by all three: a period
is read one way, and the moment food changed hands is defined once."""
