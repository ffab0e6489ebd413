"""daybreak.apps — built in later issues (see ARCHITECTURE.md)."""
