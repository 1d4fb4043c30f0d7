import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()
# A web process loads its URLconf, and with it the admin's modules (crm.admin_apps), as it
# starts rather than during its first request.
import_module(settings.ROOT_URLCONF)
