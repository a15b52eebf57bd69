"""The web layer: thin views over services."""
