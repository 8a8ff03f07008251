"""Who a request is from, once authenticated."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from plano_extproc.config.model import ModelAllowance, ModelProvider


class Credential(StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Identity:
    """`name` is the key's name or the token's name claim; `models` None allows every model."""

    name: str
    credential: Credential
    team: str | None = None
    models: ModelAllowance | None = None

    def allows(self, provider: ModelProvider) -> bool:
        return self.models is None or self.models.allows(provider)

    @property
    def metric_label(self) -> str:
        """A key's name (the config bounds them); every token counts as "jwt", since its
        names are as many as the identity provider's users."""
        return self.name if self.credential is Credential.API_KEY else Credential.JWT.value
