"""daybreak.frontends — built in later issues (see ARCHITECTURE.md)."""
