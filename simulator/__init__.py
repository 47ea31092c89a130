"""The bank simulator: the other side of every bank channel (callbacks, statements, its own
books), so that each format is exercised end to end without a real bank."""
