"""daybreak.annotations — built in later issues (see ARCHITECTURE.md)."""
