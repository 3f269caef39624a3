"""The fake ``billing`` service."""
