FROM python:3.12-slim
WORKDIR /app
# The locked versions, as the README's set-up installs them. config/ comes before the install:
# tracker/starter.toml (what `tracker init` writes) is config/tracker.toml.
COPY pyproject.toml README.md requirements.lock ./
COPY config ./config
COPY tracker ./tracker
RUN pip install --no-cache-dir -c requirements.lock .
RUN useradd --system --home /app tracker
USER tracker
ENTRYPOINT ["tracker"]
CMD ["run", "--log-format", "json"]
