"""Policy and Exception documents, shaped like Kubernetes ValidatingAdmissionPolicy.

```yaml
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: disallow-privileged-containers
  severity: high                 # critical | high | medium | low | info
  category: Pod Security Standards (baseline)
  references: [PSS:baseline/privileged-containers]
spec:
  provider: kubernetes           # kubernetes | aws
  scope: [desired, live]
  match: {kinds: [Pod, apps/Deployment], namespaces: [], excludeNamespaces: [], names: [], labelSelector: {}}
  variables: [{name: privileged, expression: "containers.filter(c, ...)"}]
  validations:
    - name: privileged-containers
      expression: "variables.privileged.size() == 0"
      message: Privileged containers are not allowed
      messageExpression: "'containers ' + variables.privileged.map(c, c.name).join(', ')"
      fieldPath: podSpec.containers
  remediation: Set securityContext.privileged to false.
  fix: {...}                     # an optional merge patch for the desired file
```
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "driftwatch.dev/v1alpha1"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank <= other.rank


class Scope(StrEnum):
    DESIRED = "desired"
    LIVE = "live"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PolicyMeta(_Strict):
    name: str
    severity: Severity = Severity.MEDIUM
    category: str = ""
    references: list[str] = Field(default_factory=list)
    description: str = ""
    defaultEnabled: bool = Field(
        True, description="false: runs only when listed in driftwatch.yaml policies.enable"
    )
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class LabelSelectorRequirement(_Strict):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelector(_Strict):
    matchLabels: dict[str, str] = Field(default_factory=dict)
    matchExpressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class Match(_Strict):
    kinds: list[str] = Field(
        default_factory=list, description="Kind or group/Kind (Kubernetes); empty = any"
    )
    resourceTypes: list[str] = Field(
        default_factory=list, description="AWS resource types, e.g. AWS::S3::Bucket"
    )
    namespaces: list[str] = Field(default_factory=list, description="globs; empty = any")
    excludeNamespaces: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list, description="globs; empty = any")
    labelSelector: LabelSelector | None = None


class Variable(_Strict):
    name: str
    expression: str


class Validation(_Strict):
    name: str = ""
    expression: str
    message: str = ""
    messageExpression: str = ""
    fieldPath: str = ""


class PolicySpec(_Strict):
    provider: Literal["kubernetes", "aws"] = "kubernetes"
    scope: list[Scope] = Field(default_factory=lambda: [Scope.DESIRED, Scope.LIVE])
    match: Match = Field(default_factory=Match)
    variables: list[Variable] = Field(default_factory=list)
    validations: list[Validation] = Field(min_length=1)
    remediation: str = ""
    fix: dict[str, Any] | None = Field(
        None, description="JSON merge patch the reconciler can apply to the desired object"
    )


class PolicyDoc(_Strict):
    apiVersion: Literal["driftwatch.dev/v1alpha1"]
    kind: Literal["Policy"]
    metadata: PolicyMeta
    spec: PolicySpec


class ExceptionMeta(_Strict):
    name: str
    annotations: dict[str, str] = Field(default_factory=dict)


class ExceptionSpec(_Strict):
    policies: list[str] = Field(
        min_length=1, description="policy names (globs); rule as policy/rule"
    )
    match: Match = Field(default_factory=Match)
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    ticket: str = ""
    expires: date


class ExceptionDoc(_Strict):
    apiVersion: Literal["driftwatch.dev/v1alpha1"]
    kind: Literal["Exception"]
    metadata: ExceptionMeta
    spec: ExceptionSpec
