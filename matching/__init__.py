"""Pure matching algorithms for Maillon: distances, eligibility, allocation, booking.

Nothing in this package imports Flask, SQLAlchemy or ``surplus``; it works on plain
data classes and returns result objects.
"""
