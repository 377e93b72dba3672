# The app image: web (gunicorn, ASGI), workers and the migrate step all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
# The workflows' bytecode: the worker imports them afresh for every run and could not write it at run time.
RUN python -m compileall -q workflows \
    && DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 app \
    && chown -R app /app
USER app

EXPOSE 8000 9464
# gunicorn.conf.py names the application (ordersite/asgi.py) and the worker class, as for `make run`.
CMD ["gunicorn", "--config", "ordersite/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
