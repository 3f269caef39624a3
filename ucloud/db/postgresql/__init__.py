"""The kit's PostgreSQL backend (``ENGINE = "ucloud.db.postgresql"``); see ``base``."""
