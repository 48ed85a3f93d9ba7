# syntax=docker/dockerfile:1.7
# One image for every service; SERVICE=catalog|auth|importer|worker|gateway|migrate|backup.
# Multi-arch: `make images` (docker buildx bake) builds linux/amd64 and linux/arm64.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first (cached layer), then our packages.
COPY pyproject.toml uv.lock ./
COPY proto/pyproject.toml proto/pyproject.toml
COPY services/common/pyproject.toml services/common/pyproject.toml
COPY services/catalog/pyproject.toml services/catalog/pyproject.toml
COPY services/auth/pyproject.toml services/auth/pyproject.toml
COPY services/importer/pyproject.toml services/importer/pyproject.toml
COPY gateway/pyproject.toml gateway/pyproject.toml
COPY cli/pyproject.toml cli/pyproject.toml
RUN uv sync --frozen --no-dev --all-packages --no-install-workspace
COPY proto proto
COPY services services
COPY gateway gateway
COPY cli cli
RUN uv sync --frozen --no-dev --all-packages --no-editable

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# The PostgreSQL major version the deployment runs (deploy/compose: postgres:16): pg_dump
# refuses a server newer than itself, so the backup command needs this client.
ARG POSTGRES_MAJOR=16
# git drives imports; pg_dump/pg_restore back up (SERVICE=backup). Debian's own client is
# older than the server, so it comes from PostgreSQL's apt repository, set up by Debian's
# postgresql-common with the key it ships. Nothing from the build toolchain comes along.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates openssh-client postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends "postgresql-client-${POSTGRES_MAJOR}" \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 skreg \
    && useradd --system --uid 10001 --gid skreg --home-dir /app --shell /usr/sbin/nologin skreg \
    && mkdir -p /backups && chown skreg:skreg /backups
WORKDIR /app
COPY --from=builder --chown=skreg:skreg /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE=gateway \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_JSON=true
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "skreg_gateway.container", "health"]
ENTRYPOINT ["python", "-m", "skreg_gateway.container"]
