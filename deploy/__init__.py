"""What deployment needs that is not generated: the image's Dockerfile and the
scripts behind ``make up`` / ``make down`` (``python -m deploy.local up``)."""
