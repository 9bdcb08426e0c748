# Accounts use django.contrib.auth's User; quotas come from settings (quotas.py).
