# Users, groups and API tokens are registered by django.contrib.auth and
# rest_framework.authtoken themselves.
