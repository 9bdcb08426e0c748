import os
import sys

from django.core.wsgi import get_wsgi_application

from platform.memory import keep_large_blocks_on_heap

# Uploads hand their chunks to helper threads that write and hash outside the
# GIL (library.upload_handlers.BackgroundSink). With the default 5 ms switch
# interval a helper could wait that long for the GIL at every hand-over: writing
# and hashing 100 MB took 0.07 s or 0.2 s by chance, at 0.5 ms steadily 0.07 s.
sys.setswitchinterval(0.0005)
keep_large_blocks_on_heap()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
application = get_wsgi_application()

# A web worker killed mid-upload leaves its temp file behind: each new server
# process sweeps what is stale (the task queue also does, every 15 minutes).
from platform.tempfiles import remove_stale_temp_files  # noqa: E402 (needs Django set up)

remove_stale_temp_files()
