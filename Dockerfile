# syntax=docker/dockerfile:1
# CommonShelf: one image for every role (`commonshelf serve --role api|relay|projections|scans`).
# Stage 1 builds the package, the Cython localization kernel included, into a virtualenv;
# stage 2 runs it as an unprivileged user, without compilers.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libgomp1 \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/commonshelf
ENV PATH=/opt/commonshelf/bin:$PATH
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY api ./api
COPY domain ./domain
COPY infra ./infra
COPY localization_ext ./localization_ext
COPY projections ./projections
COPY tenants ./tenants
# A non-editable install: the package build cythonizes and compiles the kernel (OpenMP).
RUN pip install . \
 && python -c "import localization_ext as l; assert l.engines()[0] == 'cython', l.engines()"

FROM ${PYTHON_IMAGE} AS runtime
# libgomp: the kernel's OpenMP runtime. The service runs as uid 10001, never root.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 commonshelf \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/commonshelf --create-home \
      --shell /usr/sbin/nologin commonshelf
COPY --from=build /opt/commonshelf /opt/commonshelf
ENV PATH=/opt/commonshelf/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COMMONSHELF_DATA_DIR=/tmp/commonshelf
USER 10001:10001
WORKDIR /home/commonshelf
EXPOSE 8000
ENTRYPOINT ["commonshelf"]
CMD ["serve", "--role", "api", "--host", "0.0.0.0", "--port", "8000"]
