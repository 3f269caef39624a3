"""The example project. Importing it loads the Celery app, so that
``@shared_task`` tasks (the kit's, the processors') bind to it."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
