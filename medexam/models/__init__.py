"""The benchmark's domain, one module per concept."""

from medexam.models.datasets import (
    DatasetItem,
    DatasetVersion,
    ImmutableVersionError,
    ValidityRuleSet,
)
from medexam.models.llms import Endpoint, LanguageModel, PromptTemplate
from medexam.models.questions import (
    ImportJob,
    Level,
    Question,
    QuestionChange,
    Specialty,
)
from medexam.models.runs import Attempt, EvaluationRun, ModelResponse

__all__ = [
    "Attempt",
    "DatasetItem",
    "DatasetVersion",
    "ImmutableVersionError",
    "Endpoint",
    "EvaluationRun",
    "ImportJob",
    "LanguageModel",
    "Level",
    "ModelResponse",
    "PromptTemplate",
    "Question",
    "QuestionChange",
    "Specialty",
    "ValidityRuleSet",
]
