FROM python:3.12-slim
WORKDIR /app
# The locked versions, as the README's set-up installs them. config/ comes before the install:
# tracker/starter.toml (what `tracker init` writes) is config/tracker.toml.
COPY pyproject.toml README.md requirements.lock ./
COPY config ./config
COPY tracker ./tracker
RUN pip install --no-cache-dir -c requirements.lock .
# The spool (values kept while the database is away) lives in the user's data directory; it
# exists in the image so the volume mounted there (docker-compose.yml) belongs to the user.
RUN useradd --system --create-home --home-dir /home/tracker tracker \
    && mkdir -p /home/tracker/.local/share/tracker \
    && chown -R tracker /home/tracker
USER tracker
ENTRYPOINT ["tracker"]
CMD ["run", "--log-format", "json"]
