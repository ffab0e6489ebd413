"""daybreak.optimizer — built in later issues (see ARCHITECTURE.md)."""
