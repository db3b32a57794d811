# The gateway's image (docker-compose.yml runs it as the gateway replicas, the migration step
# and the job worker): the runtime lock's pinned versions, run as a user that owns nothing.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# The pins first, in a layer of their own: rebuilt only when the lock changes.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt

COPY pyproject.toml alembic.ini migration_status.yaml ./
COPY shared ./shared
COPY legacy_flask ./legacy_flask
COPY async_api ./async_api
COPY gateway ./gateway
RUN pip install --no-deps .

# Code and manifest stay root-owned: a route changes with a new image or, on every replica
# at once, with `python -m gateway pin` (recorded in the database). var/ is the one place
# the process may write (the SQLite default, when no DATABASE_URL is given).
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway \
    && install -d -o gateway -g gateway /app/var
USER gateway

EXPOSE 8000
CMD ["python", "-m", "gateway", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
