"""Register a language model (or a baseline) and the endpoint that serves it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from medexam.models import Endpoint, LanguageModel

BASELINES = [choice.value for choice in Endpoint.Baseline]


class Command(BaseCommand):
    help = _("Register a model and its OpenAI-compatible endpoint, or a built-in baseline.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help=_("unique model name"))
        parser.add_argument("--family", default="", help=_("model family, e.g. Qwen2.5"))
        parser.add_argument(
            "--architecture",
            choices=["dense", "moe", "baseline"],
            default="dense",
            help=_("dense, moe (mixture-of-experts) or baseline; default dense"),
        )
        parser.add_argument("--total-params-b", type=float, help=_("total parameters, billions"))
        parser.add_argument(
            "--active-params-b", type=float, help=_("parameters active per token, billions")
        )
        parser.add_argument("--params-source", default="", help=_("model card URL or citation"))
        parser.add_argument("--base-url", default="", help=_("server URL ending in /v1"))
        parser.add_argument("--served-model-id", default="", help=_("model id the server serves"))
        parser.add_argument(
            "--api-key-env", default="", help=_("environment variable holding the API key")
        )
        parser.add_argument("--max-concurrency", type=int, default=16, help=_("requests in flight"))
        parser.add_argument("--rpm", type=int, help=_("requests per minute limit"))
        parser.add_argument("--tpm", type=int, help=_("tokens per minute limit"))
        parser.add_argument("--timeout", type=float, default=120.0, help=_("request timeout, s"))
        parser.add_argument(
            "--temperature", type=float, default=0.0, help=_("sampling temperature; default 0")
        )
        parser.add_argument(
            "--max-tokens",
            type=int,
            default=2048,
            help=_("max tokens the model may generate per response; default 2048"),
        )
        parser.add_argument("--stream", action="store_true", help=_("stream responses (SSE)"))
        parser.add_argument("--baseline", choices=BASELINES, help=_("a baseline; no server"))

    def handle(self, *args, **options):
        baseline = options["baseline"]
        if baseline is None and not (options["base_url"] and options["served_model_id"]):
            raise CommandError(
                _("Give --base-url and --served-model-id for a served model, or --baseline.")
            )
        if options["max_concurrency"] < 1:
            raise CommandError(_("--max-concurrency must be at least 1."))
        architecture = "baseline" if baseline else options["architecture"]

        with transaction.atomic():
            model, created = LanguageModel.objects.update_or_create(
                name=options["name"],
                defaults={
                    "family": options["family"],
                    "architecture": architecture,
                    "total_params_b": options["total_params_b"],
                    "active_params_b": options["active_params_b"],
                    "params_source": options["params_source"],
                },
            )
            endpoint, _created = Endpoint.objects.update_or_create(
                name=options["name"],
                defaults={
                    "model": model,
                    "kind": Endpoint.Kind.BASELINE if baseline else Endpoint.Kind.OPENAI,
                    "baseline": baseline or "",
                    "base_url": "" if baseline else options["base_url"],
                    "served_model_id": "" if baseline else options["served_model_id"],
                    "api_key_env": options["api_key_env"],
                    "max_concurrency": options["max_concurrency"],
                    "requests_per_minute": options["rpm"],
                    "tokens_per_minute": options["tpm"],
                    "timeout_s": options["timeout"],
                    "stream": options["stream"],
                    "decoding": {
                        "temperature": options["temperature"],
                        "max_tokens": options["max_tokens"],
                    },
                    "disabled_reason": "",
                },
            )
        verb = _("Registered") if created else _("Updated")
        self.stdout.write(
            self.style.SUCCESS(
                _("%(verb)s model %(name)s (endpoint %(endpoint)s).")
                % {"verb": verb, "name": model.name, "endpoint": endpoint.pk}
            )
        )
        if baseline is None and not options["base_url"].rstrip("/").endswith("/v1"):
            self.stderr.write(
                self.style.WARNING(
                    _(
                        "The base URL %(url)s does not end in /v1. vLLM, SGLang, TGI and Ollama "
                        "serve the OpenAI API under /v1: add it, unless your provider documents "
                        "another path."
                    )
                    % {"url": options["base_url"]}
                )
            )
