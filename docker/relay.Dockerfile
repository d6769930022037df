# The reference Gadget relay, non-root, with a healthcheck on /healthz.
#
# BASE_IMAGE: any Debian-like image with python3 (3.11+) and its venv module: the official
# python:3.11-slim by default; `harness images build` passes its own debootstrap base where
# no image can be pulled. The build context holds one folder, wheels/: the project and its
# dependencies as wheels built on the host (`harness images build` prepares it), so nothing
# is downloaded during the build.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS install
COPY wheels /wheels
RUN python3 -m venv /opt/gadget \
    && /opt/gadget/bin/pip install --no-index --find-links /wheels --no-cache-dir \
        --disable-pip-version-check --quiet gadget-harness \
    && /opt/gadget/bin/pip uninstall --yes --quiet pip

# A second stage: the wheels never reach the final image.
FROM ${BASE_IMAGE}
COPY --from=install /opt/gadget /opt/gadget
ENV PATH=/opt/gadget/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    GADGET_HOST=0.0.0.0 \
    GADGET_PORT=8080
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-m", "harness.images.probe", "http", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["python", "-m", "harness.relay"]
