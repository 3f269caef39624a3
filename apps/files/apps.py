"""The files service: file metadata owned by users, shared between them."""

from ucloud.service import DATABASE, Service


class FilesService(Service):
    name = "apps.files"
    label = "files"
    verbose_name = "Files"
    features = (DATABASE,)
