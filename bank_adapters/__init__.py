"""See ../shared/DESIGN.md (layout); filled by its issue."""
