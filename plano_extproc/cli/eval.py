"""`plano-extproc eval`: a classifier's routing accuracy and latency on a labelled dataset.

Exit status: 0 when every case was classified, 1 when the classifier raised on some of them
(they count as "other" and the numbers are printed anyway), 2 when nothing could be evaluated
(bad routes or cases file, bad options, classifier unavailable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import orjson

from plano_extproc.classifiers.base import Classifier, ClassifierError
from plano_extproc.classifiers.factory import UnavailableClassifier, build_classifier
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    OpenAIClassifierSettings,
    Route,
    TritonSettings,
)
from plano_extproc.eval import DatasetError, EvalCase, EvalReport, evaluate, load_cases, load_routes
from plano_extproc.eval.progress import ProgressBar
from plano_extproc.eval.table import format_report

USAGE_STATUS = 2
_BACKEND_OPTIONS = ("base_url", "url", "model", "access_key_env")
_OPTIONS_BY_TYPE = {
    ClassifierType.OPENAI: frozenset({"base_url", "model", "access_key_env"}),
    ClassifierType.TRITON: frozenset({"url", "model"}),
}


class UsageError(Exception):
    """Options that do not fit together."""


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "eval", help="measure a classifier's routing accuracy and latency on labelled cases"
    )
    command.add_argument("--routes", required=True, help="JSON list of {name, description, ...}")
    command.add_argument("--cases", required=True, help='JSON lines of {"messages", "gold"}')
    command.add_argument(
        "--classifier",
        choices=[kind.value for kind in ClassifierType],
        default=ClassifierSettings().type.value,
        help="default: %(default)s, as in the config",
    )
    command.add_argument("--threshold", type=float, help="the classifier's match threshold")
    command.add_argument("--concurrency", type=int, default=1, help="decisions in flight")
    command.add_argument("--json", action="store_true", help="end with one JSON line of metrics")
    backend = command.add_argument_group("openai / triton classifier")
    backend.add_argument("--base-url", help="openai: the OpenAI-compatible server")
    backend.add_argument("--url", help="triton: the gRPC endpoint (host:port)")
    backend.add_argument("--model", help="openai / triton: the router model's name")
    backend.add_argument("--access-key-env", help="openai: variable holding the bearer key")
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = classifier_settings(args)
        if args.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
        routes = load_routes(args.routes)
        cases = load_cases(args.cases, routes)
        classifier = build_classifier(settings)
        report = asyncio.run(_evaluate(classifier, routes, cases, args.concurrency))
    except (DatasetError, UsageError, UnavailableClassifier, ClassifierError) as error:
        print(f"eval: {error}", file=sys.stderr)
        return USAGE_STATUS
    print(format_report(report))
    if args.json:
        print(orjson.dumps({"classifier": settings.type.value, **report.to_json()}).decode())
    if report.errors:
        print(f"eval: the classifier failed on {report.errors} case(s)", file=sys.stderr)
        return 1
    return 0


def classifier_settings(args: argparse.Namespace) -> ClassifierSettings:
    kind = ClassifierType(args.classifier)
    _check_backend_options(args, kind)
    return ClassifierSettings(
        type=kind,
        threshold=args.threshold,
        openai=_openai_settings(args) if kind is ClassifierType.OPENAI else None,
        triton=_triton_settings(args) if kind is ClassifierType.TRITON else None,
    )


def _check_backend_options(args: argparse.Namespace, kind: ClassifierType) -> None:
    allowed = _OPTIONS_BY_TYPE.get(kind, frozenset())
    for option in _BACKEND_OPTIONS:
        if getattr(args, option) is not None and option not in allowed:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag} does not apply to the {kind.value} classifier")


def _openai_settings(args: argparse.Namespace) -> OpenAIClassifierSettings:
    if not args.base_url:
        raise UsageError("the openai classifier needs --base-url")
    key = None
    if args.access_key_env is not None:
        key = os.environ.get(args.access_key_env)
        if not key:
            raise UsageError(f"--access-key-env: {args.access_key_env} is unset")
    model = {"model": args.model} if args.model else {}
    return OpenAIClassifierSettings(base_url=args.base_url.rstrip("/"), access_key=key, **model)


def _triton_settings(args: argparse.Namespace) -> TritonSettings:
    options = {"url": args.url, "model": args.model}
    return TritonSettings(**{name: value for name, value in options.items() if value})


async def _evaluate(
    classifier: Classifier, routes: tuple[Route, ...], cases: Sequence[EvalCase], concurrency: int
) -> EvalReport:
    progress = ProgressBar(sys.stderr)
    await classifier.start()
    try:
        return await evaluate(
            classifier, routes, cases, concurrency=concurrency, on_progress=progress.update
        )
    finally:
        progress.close()
        await classifier.close()
