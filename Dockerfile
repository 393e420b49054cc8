# Neo Events: the API server image. Two stages: `build` installs exactly uv.lock's production
# dependencies (no dev group) into /app/.venv; the runtime stage copies that and the source
# onto a clean base and runs as an unprivileged user. docs/operations.md explains each setting.
#
#   docker build -t neo-events .
#   docker run --rm -e SECRET_KEY=... -e DATABASE_URL=... neo-events migrate
#   docker run -e SECRET_KEY=... -e DATABASE_URL=... -e REDIS_URL=... -p 8000:8000 neo-events
#
# BASE_IMAGE replaces the base of both stages: any Debian-like image with Python 3.11+ and
# python3-venv (CI builds on one made with debootstrap, as no registry is reachable there).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
# UV_SYSTEM_CERTS: trust the base image's certificate store (as pip does), not a bundled one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_SYSTEM_CERTS=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
# Dependencies first (a layer that changes only with the lock file), then the project itself.
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-install-project --no-cache --python python3
COPY README.md alembic.ini ./
COPY migrations ./migrations
COPY src ./src
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-cache --python python3

FROM ${BASE_IMAGE}
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin neo \
 && install -d -o neo -g neo -m 0700 /var/lib/neo-events
COPY --from=build /app /app
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint
# ENVIRONMENT=production: HSTS on, API docs off, and no start without a SECRET_KEY (set it, or
# let `migrate` generate SECRET_KEY_FILE on a volume the API containers share: compose.yaml).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    DATA_DIR=/var/lib/neo-events \
    SECRET_KEY_FILE=/var/lib/neo-events/secret_key \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=1
WORKDIR /app
USER neo
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["docker-entrypoint"]
CMD ["serve"]
