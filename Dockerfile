FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tracker ./tracker
RUN pip install --no-cache-dir .
COPY config ./config
RUN useradd --system --home /app tracker
USER tracker
ENTRYPOINT ["tracker"]
CMD ["run", "--log-format", "json"]
