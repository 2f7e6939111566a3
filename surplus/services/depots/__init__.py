"""A platform's depots: food received at the door (``receipts``), held in zones and
worked (``stock``: split, merge, adjust, count, offer to the network)."""
