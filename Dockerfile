# The app image: web (gunicorn), workers and the migrate step all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 app \
    && chown -R app /app
USER app

EXPOSE 8000 9464
CMD ["gunicorn", "ordersite.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
