"""Settings from the environment (pydantic-settings): the service does not start without them.

MONGODB_URL and SECRET_KEY have no default, so a revision deployed without them fails at
start-up with pydantic's "Field required" - the deploy record's incident 3, which the
collection turns into a failed task that shows this very error.
"""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # hide_input_in_errors: a "Field required" error would otherwise print every other setting's
    # value (SECRET_KEY included, cut to 50 characters, so no log masking catches it) into the log.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", hide_input_in_errors=True)

    mongodb_url: str
    secret_key: str
    environment: str = "production"
    allowed_origins: str = ""
    redis_url: str = ""

    @property
    def origins(self):
        return [origin.strip() for origin in self.allowed_origins.split(",") if origin.strip()]
