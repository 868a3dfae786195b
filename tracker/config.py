"""Load and validate `tracker.toml`, with `TRACKER_<SECTION>__<KEY>` environment overrides.

Bad input fails fast with the file, the dotted key and the reason (`ConfigError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from tracker.alerts.rules import Rule, check_rules
from tracker.bounds import (
    MAX_PATH,
    header_text,
    refuse_hostile,
)
from tracker.campaign import Account, Campaign, Chart, Hashtag, Page, Section
from tracker.configfile import (
    DEFAULT_SPOOL_DIR,
    ENV_PREFIX,
    beside,
    config_path,
    default_database_url,
    read_toml,
)
from tracker.core import (
    SourceSettings,
    Sudden,
    Target,
)
from tracker.errors import ConfigError

if TYPE_CHECKING:
    from tracker.collectors.base import Collector


# The whole of one answer, the last byte included, in seconds (httpx's timeout is per read).
DEFAULT_DEADLINE = 60.0
# The most one answer may be, as sent and again decompressed, in bytes.
DEFAULT_MAX_BODY = 32 * 1024 * 1024
MAX_BODY_CEILING = 1024 * 1024 * 1024


class HttpSettings(Section):
    # Seconds; finite and bounded (NaN and inf are refused, whatever the TOML type).
    timeout: float = Field(default=10.0, gt=0, le=600, allow_inf_nan=False)
    # Total seconds for one request's answer; a body trickling in still ends here.
    deadline: float = Field(default=DEFAULT_DEADLINE, gt=0, le=3600, allow_inf_nan=False)
    # Bytes one answer may take, sent and decompressed; a source may set its own max_body.
    max_body: int = Field(default=DEFAULT_MAX_BODY, ge=1024, le=MAX_BODY_CEILING)
    connect_timeout: float = Field(default=5.0, gt=0, le=300, allow_inf_nan=False)
    # Attempts per request for temporary failures (connect errors, timeouts, 5xx, 429).
    max_attempts: int = Field(default=4, ge=1, le=10)
    # The most one request may spend waiting between attempts, in seconds.
    max_wait: float = Field(default=60.0, ge=0, le=3600, allow_inf_nan=False)
    user_agent: str = "tracker/0.1 (+https://github.com/tracker-dev/tracker)"

    @field_validator("user_agent")
    @classmethod
    def _agent(cls, value: str) -> str:
        return header_text(value)


class _FileSource(PydanticBaseSettingsSource):
    """The parsed TOML file as a settings source (below the environment, above defaults)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class Config(BaseSettings):
    # An empty variable is an unset one (as for --database's TRACKER_DATABASE_URL), not "".
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    # Default: tracker.db in the user's data directory. A relative SQLite path in the file is
    # taken from the file's directory (from the working directory in the environment).
    database_url: str = Field(default_factory=default_database_url)
    log_format: Literal["text", "json"] = "text"
    # Who runs this tracker: goes into the User-Agent, as some platforms ask.
    contact: str = ""
    # Where a round's values wait while the database is down (relative: beside a SQLite
    # file, else the working directory). Env: TRACKER_SPOOL_DIR.
    spool_dir: str = DEFAULT_SPOOL_DIR
    http: HttpSettings = HttpSettings()
    # A value more than `change_factor` times (or under 1/change_factor of) the one before it
    # in its series is stored flagged as a sudden change, once either is `change_floor` or
    # more; 0 turns the flag off.
    change_factor: float = Field(default=5.0, ge=0, le=1_000_000)
    change_floor: int = Field(default=100, ge=0, le=2**62)
    sources: dict[str, dict[str, Any]] = {}
    accounts: list[Account] = []
    hashtags: list[Hashtag] = []
    charts: list[Chart] = []
    pages: list[Page] = []
    campaign: Campaign | None = None
    alerts: list[Rule] = []

    @field_validator("change_factor")
    @classmethod
    def _factor(cls, value: float) -> float:
        if value != 0 and value < 1.5:
            raise ValueError(f"must be 0 (off) or at least 1.5, got {value:g}")
        return value

    @property
    def sudden(self) -> Sudden | None:
        """The sudden-change rule, None when turned off."""
        return Sudden(self.change_factor, self.change_floor) if self.change_factor else None

    # Set by `load`: where this came from, and the validated per-source settings.
    path: Path = Path("")
    source_settings: dict[str, SourceSettings] = {}

    @field_validator("database_url", "log_format", "contact", "spool_dir")
    @classmethod
    def _total(cls, value: Any) -> Any:
        # Sections check their own fields; `sources` is checked per source, by its model.
        return refuse_hostile(value)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "%00" in value:  # a NUL written URL-encoded (or encoded by `beside`)
            raise ValueError("contains a NUL character")
        return value

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        return header_text(value)  # it goes into the User-Agent

    @field_validator("spool_dir")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a directory")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a path without control characters (tabs, newlines, ...)")
        if len(value.encode("utf-8", "surrogatepass")) >= MAX_PATH:
            raise ValueError(f"a path is shorter than {MAX_PATH} bytes, got {len(value)} chars")
        return value

    def targets(self, source: str) -> list[Target]:
        """Everything the config asks `source` to measure."""
        found: list[Target] = []
        options: tuple[tuple[str, str], ...]
        for account in self.accounts:
            if account.platform == source:
                options = (("id", account.id),) if account.id else ()
                found.append(Target("account", account.handle, account.subject, options))
        for tag in self.hashtags:
            if source in tag.platforms:
                found.append(Target("hashtag", tag.tag, tag.subject or f"#{tag.tag}"))
        for chart in self.charts:
            if chart.source == source:
                pairs = (("list", chart.list), ("page", chart.page))
                options = tuple((k, v) for k, v in pairs if v)
                found.append(Target("chart", chart.title, chart.subject or chart.title, options))
        for page in self.pages:
            if page.source == source:
                options = (("project", page.project),) if page.project else ()
                found.append(Target("page", page.article, page.subject or page.article, options))
        return found

    def platforms_named(self) -> set[str]:
        """Every source the targets mention, installed or not."""
        named = {a.platform for a in self.accounts} | {c.source for c in self.charts}
        named |= {p.source for p in self.pages}
        for tag in self.hashtags:
            named |= set(tag.platforms)
        return named


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_error(path: Path, exc: ValidationError, prefix: str = "") -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    key = _dotted(loc)
    key = f"{prefix}.{key}" if prefix and key else (prefix or key)
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    variable = _variable([*prefix.split("."), *loc] if prefix else list(loc))
    where = f"environment variable {variable}" if variable else str(path)
    return ConfigError(where, key, message + more)


def _variable(loc: list[int | str], *, within: bool = False) -> str | None:
    """The TRACKER_* variable that set the value at `loc` (or a section around it, or with
    `within` one inside it), if any.

    The environment wins over the file, so a variable that is set is where the value came from.
    """
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break  # a list item: only the whole list can come from a variable
        names.append(str(part))
    # case_sensitive=False, env_ignore_empty=True: any case, and only variables with a value.
    present = {name.upper(): name for name, value in os.environ.items() if value}
    for end in range(len(names), 0, -1):
        variable = ENV_PREFIX + "__".join(names[:end]).upper()
        if variable in present:
            return present[variable]
    if within and names:
        inside = ENV_PREFIX + "__".join(names).upper() + "__"
        for variable in sorted(present):
            if variable.startswith(inside):
                return present[variable]
    return None


def load(path: str | Path | None = None, *, database_url: str | None = None) -> Config:
    """Read, override from the environment, validate. Raises ConfigError naming file and key."""
    from tracker.collectors import registry

    where = config_path(path)
    data = read_toml(where)
    if isinstance(data.get("database_url"), str):
        data["database_url"] = beside(data["database_url"], where)

    class _Loaded(Config):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, _FileSource(settings_cls, data)

    _check_environment()
    overrides: dict[str, Any] = {"path": where}
    if database_url:
        overrides["database_url"] = database_url
    try:
        config = _Loaded(**overrides)
    except ValidationError as exc:
        raise _first_error(where, exc) from None
    except SettingsError as exc:  # a variable for a whole section that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1) if field else ""
        variable = f"{ENV_PREFIX}{name.upper()}"
        raise ConfigError(
            f"environment variable {variable}", name, "not valid JSON for a section or list"
        ) from None

    installed = registry.available()
    broken = registry.broken()
    settings: dict[str, SourceSettings] = {}
    for name, raw in config.sources.items():
        if name in broken:
            raise ConfigError(str(where), f"sources.{name}", _failed(name, broken[name]))
        if name not in installed:
            known = ", ".join(installed)
            from_env = _variable(["sources", name], within=True)
            given = f"environment variable {from_env}" if from_env else str(where)
            raise ConfigError(given, f"sources.{name}", f"no such source (known: {known})")
        try:
            settings[name] = installed[name].settings_model(**raw)
        except ValidationError as exc:
            raise _first_error(where, exc, f"sources.{name}") from None
    for name, cls in installed.items():
        if name not in settings:
            try:
                settings[name] = cls.settings_model()  # type: ignore[call-arg]  # defaults per source
            except ValidationError as exc:
                raise _first_error(where, exc, f"sources.{name}") from None
    config.source_settings = settings
    _default_sources(config, where, installed)
    _check_targets(config, where)
    _check_kinds(config, where, installed, broken)
    check_rules(config, where)
    return config


def _failed(name: str, why: str) -> str:
    return f"the {name!r} plugin failed to load: {why}"


def _check_environment() -> None:
    """A TRACKER_* variable nested too deeply to parse as JSON is refused before parsing."""
    from tracker.bounds import nesting

    for name, value in sorted(os.environ.items()):
        if name.upper().startswith(ENV_PREFIX) and value:
            too_deep = nesting(value)
            if too_deep:
                key = name[len(ENV_PREFIX) :].lower().replace("__", ".")
                raise ConfigError(f"environment variable {name}", key, too_deep)


def default_source(kind: str, installed: Mapping[str, type[Collector]]) -> str:
    """The one installed source that takes targets of `kind` naming none; ValueError if not one."""
    names = [name for name, cls in installed.items() if kind in cls.default_for]
    if len(names) == 1:
        return names[0]
    if not names:
        raise ValueError(f"name a source: no installed source takes {kind}s by default")
    raise ValueError(f"name a source: {', '.join(names)} all take {kind}s by default")


def _default_sources(config: Config, where: Path, installed: dict[str, type[Collector]]) -> None:
    """`[[pages]]` entries that name no source get the default one."""
    for i, page in enumerate(config.pages):
        if not page.source:
            try:
                page.source = default_source("page", installed)
            except ValueError as exc:
                raise ConfigError(str(where), f"pages[{i}].source", str(exc)) from None


def _check_kinds(
    config: Config,
    where: Path,
    installed: dict[str, type[Collector]],
    broken: dict[str, str],
) -> None:
    """A target on a platform whose collector cannot measure that kind, or whose plugin
    failed to load, is an error naming the entry."""
    named: list[tuple[str, str, str]] = [
        (f"hashtags[{i}].platforms", platform, "hashtag")
        for i, tag in enumerate(config.hashtags)
        for platform in tag.platforms
    ]
    named += [
        (f"accounts[{i}].platform", a.platform, "account") for i, a in enumerate(config.accounts)
    ]
    named += [(f"charts[{i}].source", c.source, "chart") for i, c in enumerate(config.charts)]
    named += [(f"pages[{i}].source", p.source, "page") for i, p in enumerate(config.pages)]
    for key, platform, kind in named:
        if platform in broken:
            raise ConfigError(str(where), key, _failed(platform, broken[platform]))
        reason = installed[platform].refusal(kind) if platform in installed else None
        if reason:
            raise ConfigError(str(where), key, reason)


def _check_targets(config: Config, where: Path) -> None:
    seen: dict[tuple[str, ...], str] = {}

    def once(identity: tuple[str, ...], key: str) -> None:
        if identity in seen:
            raise ConfigError(str(where), key, f"duplicate of {seen[identity]}")
        seen[identity] = key

    for i, account in enumerate(config.accounts):
        once(("account", account.platform, account.handle.casefold()), f"accounts[{i}]")
    for i, tag in enumerate(config.hashtags):
        once(("hashtag", tag.tag), f"hashtags[{i}]")
    for i, chart in enumerate(config.charts):
        once(("chart", chart.source, chart.title, chart.list, chart.page), f"charts[{i}]")
    for i, page in enumerate(config.pages):
        once(("page", page.source, page.project, page.article), f"pages[{i}]")
    if config.campaign:
        for i, ref in enumerate(config.campaign.baselines + config.campaign.claims):
            once(("reference", ref.name), f"campaign reference [{i}] {ref.name!r}")
