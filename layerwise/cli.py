"""The `layerwise` command: train, evaluate, predict, export, diagnose, report, verify,
gradcheck, download.

User errors print one line (`layerwise: error: ...`) and exit with status 2; `--debug`
shows the traceback instead. A file read without a checksum is a line `layerwise: note: ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise.checkpoint import CheckpointError
from layerwise.checksums import NoChecksumWarning
from layerwise.distributed import DistributedError, launched_by_mpi, world
from layerwise.settings import detect_anomaly
from layerwise.train.config import (
    ACTIVATIONS,
    DATASETS,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    RunConfig,
    read_toml,
)
from layerwise.train.trainer import TrainingDivergedError

if TYPE_CHECKING:
    from layerwise.train.run import Run

EXIT_USER_ERROR = 2
RESUMABLE = ("epochs", "data")
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, the status of a shell tool cut off by head


class UsageError(Exception):
    """A mistake in what the user asked for; its message is shown as is."""


def augmentations(text: str) -> list[str]:
    """`crop,flip` as a list; `none` (or nothing) as none."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    return [] if names == ["none"] else names


def widths(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected layer widths like 512,256, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="layerwise", description="Train, evaluate and inspect layerwise networks.")
    main.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of errors")

    train = commands.add_parser("train", help="train a network and write a run folder",
                                  parents=[debug])
    add_config_options(train)
    train.add_argument("--out", metavar="DIR", help="run folder (default runs/DATASET-TIME)")
    train.add_argument("--resume", metavar="DIR", help="continue a stopped run")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--detect-anomaly", action="store_true",
                       help="check every op's output and gradients for NaN/inf and name the "
                            "first op that makes one (slower)")
    train.add_argument("--no-health", action="store_true",
                       help="do not record training health (health.json, gradient_flow.png, "
                            "activations.png)")
    train.add_argument("--workers", type=int, metavar="N",
                       help="train on N processes under mpiexec, each on its share of every "
                            "batch (needs the distributed extra)")
    train.add_argument("--hostfile", metavar="FILE",
                       help="with --workers: the machines to run on, one name per line")

    diagnose = commands.add_parser(
        "diagnose", parents=[debug],
        help="print the training-health findings of a run, or check that a model can overfit "
             "one batch")
    diagnose.add_argument("run", metavar="RUN", nargs="?", help="a run folder")
    diagnose.add_argument("--overfit-batch", action="store_true",
                          help="train a new model of the run's (or the flags') settings on one "
                               "batch and check that its loss gets near its minimum")
    add_config_options(diagnose)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a run or checkpoint",
                                     parents=[debug])
    evaluate.add_argument("target", metavar="RUN_DIR_OR_CHECKPOINT")
    evaluate.add_argument("--data", metavar="DIR")

    predict = commands.add_parser("predict", help="classify images with a trained run",
                                    parents=[debug])
    predict.add_argument("target", metavar="RUN_DIR_OR_CHECKPOINT")
    predict.add_argument("files", nargs="+", metavar="FILE", help="PNG, .npy or IDX files")
    predict.add_argument("--top", type=int, default=3, help="classes shown per image")

    export = commands.add_parser("export", help="write a run's model as an ONNX file",
                                 parents=[debug])
    export.add_argument("target", metavar="RUN_DIR_OR_CHECKPOINT")
    export.add_argument("output", metavar="FILE.onnx", help="the ONNX file to write")

    report = commands.add_parser("report", help="write a run folder's report.html again",
                                 parents=[debug])
    report.add_argument("run", metavar="RUN", help="the folder of a layerwise train run")

    verify = commands.add_parser(
        "verify", parents=[debug],
        help="check the files of a run folder (or one file) against their checksums")
    verify.add_argument("target", metavar="RUN_OR_FILE")

    commands.add_parser("gradcheck", help="gradcheck every op and a small network in float64",
                        parents=[debug])

    download = commands.add_parser("download", help="fetch a dataset", parents=[debug])
    download.add_argument("dataset", choices=["fashion-mnist"])
    download.add_argument("--data", metavar="DIR")
    return main


def add_config_options(train: argparse.ArgumentParser) -> None:
    """The flags of a run's settings (RunConfig), shared by train and diagnose."""
    train.add_argument("--dataset", choices=DATASETS)
    train.add_argument("--data", metavar="DIR", help="folder with the Fashion-MNIST files")
    train.add_argument("--model", choices=MODELS,
                       help="mlp (the default) or cnn; each has its own recipe of defaults")
    train.add_argument("--channels", type=widths, metavar="C1,C2,...",
                       help="the CNN's convolutions: output channels of each")
    train.add_argument("--batch-norm", action="store_true", default=None,
                       help="batch normalization after each convolution of the CNN")
    train.add_argument("--augment", type=augmentations, metavar="crop,flip",
                       help="random crops (shifts of up to 2 pixels) and horizontal flips of "
                            "the training images; none to turn off")
    train.add_argument("--hidden", type=widths, metavar="W1,W2,...",
                       help="hidden widths of the MLP, or of the CNN's dense layers")
    train.add_argument("--activation", choices=ACTIVATIONS)
    train.add_argument("--dropout", type=float, metavar="P")
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=float)
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--momentum", type=float, help="for --optimizer sgd")
    train.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    train.add_argument("--label-smoothing", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--epochs", type=int, help="total epochs (with --resume: run on to N)")
    train.add_argument("--validation-size", type=int, metavar="N",
                       help="training samples held out for validation")
    train.add_argument("--samples", type=int, help="training points of a 2-D dataset")
    train.add_argument("--seed", type=int)
    train.add_argument("--config", metavar="FILE.toml", help="settings file (flags win)")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    arguments.argv = list(argv if argv is not None else sys.argv[1:])
    arguments.is_program = argv is None
    arguments.every_rank_stopped = False
    status = run_command(arguments)
    if status not in (0, EXIT_INTERRUPTED) and launched_by_mpi() and world().size > 1 \
            and not arguments.every_rank_stopped:
        # The other ranks would wait for this one forever. MPI_Abort ends the job at once:
        # give mpiexec a moment to pass on the error line first.
        sys.stderr.flush()
        time.sleep(0.2)
        world().abort(status)
    return status


def run_command(arguments: argparse.Namespace) -> int:
    try:
        with warnings.catch_warnings():  # each command notes each unchecked file once
            warnings.simplefilter("default", NoChecksumWarning)
            warnings.showwarning = show_note(warnings.showwarning)
            status = COMMANDS[arguments.command](arguments)
        sys.stdout.flush()  # here, where a closed pipe is handled, rather than at exit
        return status
    except KeyboardInterrupt:
        print("\nlayerwise: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `layerwise evaluate RUN | head -1`: the reader has all it wants
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        # Divergence is agreed in a step's allreduce, so every rank raises it at the same step
        # and all can end normally: MPI_Abort could end the job before mpiexec has passed on
        # the line printed here.
        arguments.every_rank_stopped = isinstance(error, TrainingDivergedError)
        if arguments.every_rank_stopped and launched_by_mpi() and world().rank != 0:
            return EXIT_USER_ERROR  # rank 0 says it, once
        message = str(error) or type(error).__name__
        if isinstance(error, MemoryError):  # the settings ask for more than the machine has
            print(f"layerwise: error: not enough memory: {message}", file=sys.stderr)
            return EXIT_USER_ERROR
        if isinstance(error, KeyError):
            message = str(error.args[0]) if error.args else message
        expected = (UsageError, ValueError, TypeError, KeyError, FileNotFoundError,
                    CheckpointError, FloatingPointError, OSError)
        if isinstance(error, expected):
            print(f"layerwise: error: {message}", file=sys.stderr)
            return EXIT_USER_ERROR
        print(f"layerwise: internal error: {type(error).__name__}: {message} (run with --debug "
              f"for the traceback and report it)", file=sys.stderr)
        return 1
    finally:
        if arguments.is_program and threading.current_thread() is threading.main_thread():
            # The command is the program and its work is done: a Ctrl-C while Python shuts
            # down (half a second with matplotlib and numba loaded) would otherwise print
            # "Exception ignored" tracebacks or end the process by SIGINT, not its status.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def show_note(show: Any) -> Any:
    """warnings.showwarning, with a NoChecksumWarning as one `layerwise: note:` line."""

    def shown(message: Warning | str, category: type[Warning], *where: Any, **keywords: Any
              ) -> None:
        if issubclass(category, NoChecksumWarning):
            note(f"layerwise: note: {message}")
        else:
            show(message, category, *where, **keywords)

    return shown


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a file
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


# --- train ---------------------------------------------------------------------------------


def resolve_config(arguments: argparse.Namespace) -> RunConfig:
    values: dict[str, Any] = {}
    if arguments.config:
        values.update(read_toml(arguments.config))
    for name in RunConfig.__dataclass_fields__:
        flag = getattr(arguments, name, None)
        if flag is not None:
            values[name] = flag
    return RunConfig.from_dict(values, arguments.config or "flags").validate()


def note(message: str) -> None:
    """A line on stderr, from rank 0 only in a data-parallel run."""
    if world().is_root:
        print(message, file=sys.stderr)


def command_train(arguments: argparse.Namespace) -> int:
    from layerwise.train.run import Run, read_run_config

    if arguments.hostfile is not None and arguments.workers is None:
        raise UsageError("--hostfile goes with --workers N (the number of processes to start)")
    if arguments.workers is not None:
        if arguments.workers < 1:
            raise UsageError(f"--workers must be a positive number of processes, got "
                             f"{arguments.workers}")
        if launched_by_mpi():
            if arguments.workers != world().size:
                raise UsageError(f"--workers {arguments.workers}, but mpiexec started "
                                 f"{world().size} processes; give one or the other")
        elif arguments.workers > 1 or arguments.hostfile is not None:
            from layerwise.distributed.launch import launch

            try:
                return launch(arguments.workers, arguments.argv, arguments.hostfile)
            except DistributedError as error:
                raise UsageError(str(error)) from None
    if arguments.resume:
        folder = Path(arguments.resume)
        changed = [name for name in RunConfig.__dataclass_fields__
                   if name not in RESUMABLE and getattr(arguments, name, None) is not None]
        if changed or arguments.config or arguments.out:
            names = [f"--{name.replace('_', '-')}" for name in changed]
            names += ["--config"] * bool(arguments.config) + ["--out"] * bool(arguments.out)
            raise UsageError(f"{', '.join(names)} cannot change a run on --resume (its settings "
                             f"are in {folder / 'config.json'}); only --epochs and --data can")
        config = read_run_config(folder)
        if arguments.epochs is not None:
            config.epochs = arguments.epochs
        if arguments.data is not None:
            config.data = arguments.data
        run = Run(config, folder, verbose=not arguments.quiet, health=not arguments.no_health)
        if (folder / "checkpoint.safetensors").exists():
            run.restore()
        elif (folder / "model.safetensors").exists():
            raise UsageError(f"{folder} has model.safetensors but no checkpoint.safetensors, "
                             f"so it cannot be resumed (layerwise evaluate {folder} still works)")
        else:
            note(f"{folder} has no finished epoch (it was stopped during its first); "
                 f"starting it at epoch 1 of {config.epochs}")
        progress = run.trainer.epoch_in_progress
        if progress is not None and progress.epoch > config.epochs:
            raise UsageError(f"{folder} was stopped in epoch {progress.epoch}; --epochs must be "
                             f"at least {progress.epoch} to finish it")
        if run.trainer.epoch > config.epochs:
            raise UsageError(f"{folder} already has {run.trainer.epoch} epochs; --epochs must "
                             f"be more to run on")
        if progress is not None:
            note(f"resuming {folder} in epoch {progress.epoch} of {config.epochs}, after step "
                 f"{progress.step} of {progress.batches}")
        elif run.trainer.epoch == config.epochs:
            note(f"the run already has {run.trainer.epoch} epochs; pass --epochs N to go on")
        elif run.trainer.epoch > 0:
            note(f"resuming {folder} at epoch {run.trainer.epoch + 1} of {config.epochs}")
    else:
        config = resolve_config(arguments)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        default = Path("runs") / f"{config.dataset}-{stamp}"
        folder = Path(arguments.out) if arguments.out else Path(
            world().broadcast_text(str(default)))  # the ranks' clocks may differ
        if (folder / "checkpoint.safetensors").exists():
            raise UsageError(f"{folder} already holds a run; continue it with --resume {folder} "
                             f"or choose another --out")
        run = Run(config, folder, verbose=not arguments.quiet, health=not arguments.no_health)
    started, steps_before = time.perf_counter(), steps_done(run)
    anomaly = detect_anomaly() if arguments.detect_anomaly else contextlib.nullcontext()
    try:
        # A diverging run ends in one clear line (naming the op under --detect-anomaly), not
        # in NumPy's overflow warnings.
        with np.errstate(all="ignore"), anomaly:
            result = run.train()
    except KeyboardInterrupt:
        if not run.comm.is_root:  # rank 0 says what is saved
            return EXIT_INTERRUPTED
        if run.finished:  # Ctrl-C came while the results were written, and waited for them
            print(f"\nlayerwise: interrupted, but the run had finished: {folder} is complete",
                  file=sys.stderr)
            print(f"report: {run.report}")  # stdout: stderr keeps its one line
            return EXIT_INTERRUPTED
        if run.saved_step:
            saved = (f"epoch {run.saved_epoch + 1} is saved after step {run.saved_step} of "
                     f"{run.steps_per_epoch}")
        elif run.saved_epoch:
            saved = f"the last finished epoch ({run.saved_epoch}) is saved"
        else:
            saved = "no step had finished"
        print(f"\nlayerwise: interrupted; {saved}. Continue with: layerwise train --resume "
              f"{folder}", file=sys.stderr)
        if run.report is not None:
            print(f"report: {run.report} (of the partial run)")
        return EXIT_INTERRUPTED
    except TrainingDivergedError as error:  # say what the folder keeps, and what --resume does
        if run.saved_epoch or run.saved_step:
            resume = (f"--resume would start again from the last save in {folder} "
                      f"({run.saved_state()}) with the same settings")
        else:
            resume = (f"--resume would start {folder} again from epoch 1 with the same settings "
                      f"(it has no saved epoch)")
        raise TrainingDivergedError(f"{error} in a new run; {resume}") from error
    if not run.comm.is_root:
        return 0
    trained = epochs_text(steps_done(run) - steps_before, run.steps_per_epoch)
    print(f"trained {trained} in this run ({time.perf_counter() - started:.1f} s); epoch "
          f"{run.trainer.epoch} of {config.epochs} done")
    print(f"test accuracy: {result.accuracy:.4f}")
    print(f"run folder: {folder}")
    if run.health is not None:
        print(health_line(run.health.report(), folder))
    print(f"report: {run.report}")
    return 0


def steps_done(run: Run) -> int:
    """The optimizer steps the run has taken since its first epoch began."""
    progress = run.trainer.epoch_in_progress
    return run.trainer.epoch * run.steps_per_epoch + (progress.step if progress else 0)


def epochs_text(steps: int, steps_per_epoch: int) -> str:
    """`steps` in epochs: "3 epochs", "1 epoch", or with the part of an epoch rounded down,
    "2.45 epochs", "0.002 epochs", so that a part is never shown as a whole epoch."""
    whole, part = divmod(steps, steps_per_epoch)
    if not part:
        return f"{whole} epoch{'s' * (whole != 1)}"
    decimals = 2
    while part * 10**decimals // steps_per_epoch == 0:
        decimals += 1
    digits = str(part * 10**decimals // steps_per_epoch).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{digits} epochs"


# --- diagnose ------------------------------------------------------------------------------------


def health_line(report: dict[str, Any], folder: Path) -> str:
    """The line of train about health: the number of findings and where to read them."""
    count = len(report["findings"])
    if not count:
        return "health: no findings"
    warnings = sum(finding["severity"] == "warning" for finding in report["findings"])
    kinds = f"{warnings} warning{'s' * (warnings != 1)}" if warnings else "no warnings"
    return (f"health: {count} finding{'s' * (count != 1)} ({kinds}); layerwise diagnose "
            f"{folder}")


def command_diagnose(arguments: argparse.Namespace) -> int:
    if arguments.overfit_batch:
        return diagnose_overfit(arguments)
    if arguments.run is None:
        raise UsageError("diagnose needs a run folder (layerwise diagnose RUN) or "
                         "--overfit-batch")
    changed = [name for name in RunConfig.__dataclass_fields__
               if getattr(arguments, name, None) is not None]
    if changed or arguments.config:
        names = [f"--{name.replace('_', '-')}" for name in changed] + ["--config"] * bool(
            arguments.config)
        raise UsageError(f"{', '.join(names)} can only be given with --overfit-batch; the "
                         f"findings of {arguments.run} come from its health.json")
    from layerwise.check.health import findings, key_figures, read_report

    folder = Path(arguments.run)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such run folder: {folder}")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a layerwise run folder (no config.json)")
    path = folder / "health.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} has no health.json: it was trained before layerwise recorded training "
            f"health, or with --no-health; train it on (layerwise train --resume {folder} "
            f"--epochs N) to record from there, or train a new run")
    report = read_report(path)
    found = findings(report)
    samples = report["samples"]
    span = (f"{len(samples)} samples, every {report['every']} steps, steps {samples[0]['step']}"
            f"-{samples[-1]['step']}" if samples else "no samples")
    if not found:
        print(f"no findings in {folder} ({span}):")
        for line in key_figures(report):
            print(f"  {line}")
        return 0
    print(f"{len(found)} finding{'s' * (len(found) != 1)} in {folder} ({span}):")
    for finding in sorted(found, key=lambda finding: finding.severity != "warning"):
        print(f"- {finding.severity}: {finding.message}")
    return 0


def diagnose_overfit(arguments: argparse.Namespace) -> int:
    """Karpathy's first test on a new model of the run's settings (or the flags')."""
    import dataclasses

    from layerwise import nn
    from layerwise.check.overfit import OVERFIT_BATCH, overfit_batch
    from layerwise.models import build_model, input_statistics
    from layerwise.train.run import build_optimizer, load_splits, read_run_config

    if arguments.run is not None:
        config = read_run_config(Path(arguments.run))
        if arguments.data is not None:
            config.data = arguments.data
    else:
        config = resolve_config(arguments)
    # Regularization fights the fit: no dropout, no weight decay, a constant rate.
    config = dataclasses.replace(config.validate(), dropout=0.0, weight_decay=0.0)
    splits = load_splits(config)
    inputs, labels = splits.train_x[:OVERFIT_BATCH], splits.train_y[:OVERFIT_BATCH]
    mean, std = input_statistics(config, splits.train_x)
    classes = len(splits.classes)
    model, _ = build_model(config, splits.train_x.shape[1:], classes, mean, std)
    optimizer = build_optimizer(config, model)
    with np.errstate(all="ignore"):
        result = overfit_batch(model, optimizer, inputs, labels,
                               nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
                               classes, config.label_smoothing)
    print(f"overfit one batch: {config.model} on {config.dataset}, {config.optimizer} lr "
          f"{config.lr:g}, label smoothing {config.label_smoothing:g} (so the loss's floor is "
          f"{result.floor:.4f}); dropout and weight decay off")
    print(result.describe())
    return 0 if result.passed else 1


# --- evaluate and predict ----------------------------------------------------------------------


def command_evaluate(arguments: argparse.Namespace) -> int:
    from layerwise import nn
    from layerwise.train.run import load_splits, load_trained_model
    from layerwise.train.trainer import evaluate

    trained = load_trained_model(Path(arguments.target))
    if arguments.data is not None:
        trained.config.data = arguments.data
    if trained.stopped_in is not None:
        print(f"{arguments.target} holds the weights of {trained.stopped_in}, where Ctrl-C "
              f"stopped the run, not those of a finished epoch", file=sys.stderr)
    splits = load_splits(trained.config)
    loss = nn.CrossEntropyLoss(label_smoothing=trained.config.label_smoothing)
    result = evaluate(trained.model, splits.test_x, splits.test_y, loss)
    print(f"test loss: {result.loss:.4f}")
    print(f"test accuracy: {result.accuracy:.4f}")
    print("per-class accuracy:")
    for name, value in zip(trained.classes, result.per_class_accuracy, strict=True):
        print(f"  {name:<12} {value:.4f}")
    return 0


def read_images(path: Path) -> np.ndarray:
    """The values of a PNG (gray, in [0, 1]), a .npy or an IDX file; integer pixel values
    0..255 are scaled to [0, 1] like the training images."""
    from layerwise.data import read_idx

    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".png":
        try:
            import matplotlib.image
        except ImportError:
            raise UsageError("reading PNG files needs matplotlib: pip install "
                             "'layerwise[cli]'") from None
        try:
            pixels = np.asarray(matplotlib.image.imread(path), dtype=np.float64)
        except (SyntaxError, ValueError, OSError) as error:  # PIL's "not a PNG file" and kin
            raise UsageError(f"{path}: not a readable PNG image ({error})") from None
        if pixels.ndim == 3:
            pixels = pixels[..., :3].mean(axis=2)
        return pixels[np.newaxis]
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:  # NumPy's message would suggest loading it unsafely
            raise UsageError(f"{path}: {not_plain_npy(path, error)}") from None
        if not isinstance(array, np.ndarray):  # a zip (.npz, PyTorch): np.load opens it lazily
            array.close()
            raise UsageError(f"{path}: not a plain .npy array: it is a zip archive (an .npz "
                             f"or PyTorch file?), which predict does not read")
    else:
        array = read_idx(path)
    if array.dtype.kind in "ui":  # pixel values 0..255, as in the IDX files
        return np.asarray(array, dtype=np.float64) / 255.0
    return np.asarray(array, dtype=np.float64)


def not_plain_npy(path: Path, error: ValueError) -> str:
    """Why np.load(allow_pickle=False) refused `path`, in words that do not invite unpickling."""
    if "pickle" not in str(error):
        return f"not a plain .npy array ({error})"
    with path.open("rb") as file:
        start = file.read(6)
    if start == b"\x93NUMPY" or start[:1] == b"\x80":  # an object array, or a pickle
        return ("not a plain .npy array: it holds pickled Python objects, which layerwise "
                "never loads")
    return "not a .npy file (it does not start with the .npy magic string)"


def command_predict(arguments: argparse.Namespace) -> int:
    from layerwise import functional as F
    from layerwise.settings import no_grad
    from layerwise.train.run import load_trained_model

    trained = load_trained_model(Path(arguments.target))
    classes = trained.classes
    for name in arguments.files:
        samples = as_samples(read_images(Path(name)), trained.input_shape, name)
        with no_grad():
            probabilities = F.softmax(trained.model(samples)).data
        for index, row in enumerate(probabilities):
            best = np.argsort(row)[::-1][:max(arguments.top, 1)]
            label = name if len(samples) == 1 else f"{name}[{index}]"
            shown = ", ".join(f"{classes[c]} ({row[c]:.3f})" for c in best)
            print(f"{label}: {shown}")
    return 0


def as_samples(values: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A batch of inputs of `shape` (one sample's): (N, H, W) images, (N, features) points, or
    a single one; flat or not, as long as each sample has the model's number of values."""
    size = math.prod(shape)
    if values.size == size:
        return values.reshape(1, *shape).astype(np.float32)
    if values.ndim >= 2 and math.prod(values.shape[1:]) == size:
        return values.reshape(len(values), *shape).astype(np.float32)
    if len(shape) == 3:
        sample = values.shape[-2:] if values.ndim >= 2 else values.shape
        raise UsageError(f"{name}: images of {'x'.join(map(str, sample))} pixels (values of "
                         f"shape {values.shape}), but the model takes {shape[1]}x{shape[2]} "
                         f"images with {shape[0]} channel{'s' * (shape[0] != 1)}")
    raise UsageError(f"{name}: values of shape {values.shape}, but the model takes {size} "
                     f"values per sample")


# --- export -----------------------------------------------------------------------------------


def input_description(dataset: str, shape: tuple[int, ...]) -> str:
    """What a run's model takes (as train/run.py's model_inputs and load_splits make it)."""
    if dataset == "fashion-mnist":
        return ("pixel values in [0, 1] (the images' 0..255 divided by 255); the model "
                "standardizes them itself")
    return f"the {shape[0]} coordinates of a point of the {dataset} dataset, as it makes them"


def command_export(arguments: argparse.Namespace) -> int:
    import json

    from layerwise.onnx.common import require_onnx
    from layerwise.train.run import load_trained_model

    target, output = Path(arguments.target), Path(arguments.output)
    if not target.exists():
        raise FileNotFoundError(f"no such run folder or model file: {target}")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {output}: the folder {folder} does not exist")
    try:
        require_onnx()
    except ImportError as error:
        raise UsageError(f"layerwise export: {error}") from None
    from layerwise.onnx import export

    trained = load_trained_model(target)
    shape, classes = trained.input_shape, trained.classes
    scaling = input_description(trained.config.dataset, shape)
    example = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    proto = export(trained.model, example, output, input_names=["input"],
                   output_names=["logits"], metadata={
                       "classes": json.dumps(classes), "input_shape": json.dumps(list(shape)),
                       "input": f"float32 (batch, {', '.join(map(str, shape))}): {scaling}",
                       "output": "logits (batch, classes); softmax gives probabilities",
                       "dataset": trained.config.dataset, "model": trained.config.model})
    count = sum(parameter.numel() for parameter in trained.model.parameters())
    print(f"wrote {output} (ONNX opset {proto.opset_import[0].version}, {trained.config.model} "
          f"with {count:,} parameters)")
    print(f"input \"input\": float32 (batch, {', '.join(map(str, shape))}), {scaling}")
    print(f"output \"logits\": float32 (batch, {len(classes)}), one per class ("
          f"{', '.join(classes)}); softmax gives probabilities")
    return 0


# --- report -----------------------------------------------------------------------------------


def command_report(arguments: argparse.Namespace) -> int:
    from layerwise.train.report import write_report

    print(f"report: {write_report(Path(arguments.run))}")
    return 0


# --- verify ---------------------------------------------------------------------------------


def command_verify(arguments: argparse.Namespace) -> int:
    from layerwise.train.verify import summary, verify_run

    checks = verify_run(Path(arguments.target))
    width = max(len(check.path.name) for check in checks)
    for check in checks:
        print(f"{check.path.name:<{width}}  {check.verdict}")
    print(summary(checks))
    return 1 if any(check.corrupt for check in checks) else 0


# --- gradcheck and download -------------------------------------------------------------------


def command_gradcheck(arguments: argparse.Namespace) -> int:
    from layerwise.check.report import gradcheck_report

    rows = gradcheck_report()
    width = max(len(row.name) for row in rows)
    print(f"{'case':<{width}}  {'max rel. error':>14}  result")
    for row in rows:
        print(f"{row.name:<{width}}  {row.error:>14.2e}  {'ok' if row.passed else 'FAILED'}")
    failed = [row.name for row in rows if not row.passed]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def command_download(arguments: argparse.Namespace) -> int:
    from layerwise.data import fashion_mnist

    for split in ("train", "test"):
        fashion_mnist(split, root=arguments.data, download=True)
    print("fashion-mnist is ready")
    return 0


COMMANDS = {"train": command_train, "evaluate": command_evaluate, "predict": command_predict,
            "export": command_export, "diagnose": command_diagnose, "report": command_report,
            "verify": command_verify, "gradcheck": command_gradcheck,
            "download": command_download}


if __name__ == "__main__":
    sys.exit(main())
