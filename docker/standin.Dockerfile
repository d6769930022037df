# The database for machines where no MongoDB image can be pulled: the harness's MongoDB
# wire-protocol stand-in (harness.mongowire; in memory), the same server the embedded
# environment runs. It reuses the relay image (APP_IMAGE), which already holds the harness.
ARG APP_IMAGE=gadget-harness/relay:latest
FROM ${APP_IMAGE}
EXPOSE 27017
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-m", "harness.images.probe", "mongo", "127.0.0.1:27017"]
ENTRYPOINT ["python", "-m", "harness.mongowire", "--host", "0.0.0.0", "--port", "27017"]
