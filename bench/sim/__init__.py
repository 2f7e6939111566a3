"""A simulated period of a province's (or the country's) surplus through the real services."""
