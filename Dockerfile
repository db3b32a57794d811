FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini migration_status.yaml ./
COPY shared ./shared
COPY legacy_flask ./legacy_flask
COPY async_api ./async_api
COPY gateway ./gateway
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["python", "-m", "gateway", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
