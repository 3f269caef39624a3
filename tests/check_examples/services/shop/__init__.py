"""The fake ``shop`` service."""
