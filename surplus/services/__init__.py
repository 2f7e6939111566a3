"""Business rules, one module per aggregate. Functions take a Session and an actor,
enforce the rules, append events and flush; the caller owns the commit."""
