"""Database backends of the kit (``ucloud.db.postgresql``)."""
