"""System checks of the kit (``ucloud.E0xx``); filled in by later commits."""
