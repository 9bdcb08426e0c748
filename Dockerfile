# One image for the web server and the CPU workers (Dockerfile.gpu: the GPU workers).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV STEMROOM_VAR_DIR=/data PYTHONUNBUFFERED=1
# Static files live in the image, served by whitenoise: no volume shares them. Production
# settings refuse to load without a key and hosts; these stand only for this build step.
RUN STEMROOM_ENV=production ALLOWED_HOSTS=build SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput
