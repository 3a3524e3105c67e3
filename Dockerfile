# annexa as a container image, for scheduled scans (docs/recipes/kubernetes-cronjob.yaml, docs/scheduling.md).
#
#   docker build -t annexa:0.1.0 .
#   docker run --rm -v "$PWD:/work" -w /work annexa:0.1.0 scan -c annexa.yaml --format html -o reports/
#
# The image holds annexa with everything its built-in collectors need: the AWS collector (boto3) and the
# documents collector (pypdf, python-docx) are part of annexa's own dependencies, not extras. It runs as
# the unprivileged user 10001 (the CronJob's runAsUser); the store and reports go to a mounted volume.

# Build the wheel in a throwaway stage, so the image carries no source tree and no build tools.
FROM python:3.12-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine engine
COPY plugins plugins
COPY collectors collectors
COPY rules rules
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 annexa \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/annexa --create-home --shell /usr/sbin/nologin annexa
COPY --from=wheel /wheels /tmp/wheels
RUN pip install /tmp/wheels/annexa-*.whl && rm -rf /tmp/wheels
USER 10001:10001
WORKDIR /var/lib/annexa
ENTRYPOINT ["annexa"]
CMD ["--help"]
