# Users, groups and API tokens are registered by django.contrib.auth and
# rest_framework.authtoken themselves. The user admin with each user's tracks inline
# and the storage they use is in library/admin.py: accounts sits beneath the library
# and must not import it.
# Accounts use django.contrib.auth's User; quotas come from settings (quotas.py).
