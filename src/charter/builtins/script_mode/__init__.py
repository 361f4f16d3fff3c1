"""Script mode: running a user's training script the way SageMaker's framework images do.

SageMaker's scikit-learn, PyTorch and XGBoost images run the user's ``entry_point`` (from
``SKLearn(entry_point="train.py", source_dir=...)`` and the like) through the
sagemaker-training-toolkit; this package is Charter's stand-in for it, following
specs/containers.md, section 2:

1. read ``hyperparameters.json``, ``resourceconfig.json`` and ``inputdataconfig.json`` and
   split off the reserved ``sagemaker_*`` keys (:mod:`.environment`, :mod:`.arguments`);
2. bring the code from ``sagemaker_submit_directory`` into ``root/opt/ml/code`` (:mod:`.code`);
3. install ``requirements.txt`` (or the package, for a code directory with ``setup.py``)
   into a virtual environment that still sees the frameworks, cached across jobs under
   ``CHARTER_VENV_CACHE`` (:mod:`.requirements`);
4. run the entry point in the code directory with the user's hyperparameters as
   arguments and the ``SM_*`` environment (:mod:`.runner`; PyTorch's torch.distributed
   set-up in :mod:`.torch_distributed`);
5. on failure write SageMaker's ``AlgorithmError: ExecuteUserScriptError: ...`` text to
   ``root/opt/ml/output/failure`` and exit with the script's status (:mod:`.failures`).

``root`` plays ``/opt/ml``'s parent: ``/`` when the platform runs the job in a mount
namespace with the job's tree at ``/opt/ml``, any directory otherwise.  Every path the
script is given is the real one under ``root/opt/ml``, and ``SAGEMAKER_BASE_DIR`` names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import ClientError
from . import code, environment, requirements, runner, torch_distributed
from .failures import ExecuteUserScriptError, ScriptModeFailure, write_failure
from .logs import Log
from .network import wait_for_hosts

__all__ = ["FRAMEWORKS", "ExecuteUserScriptError", "ScriptModeFailure", "train"]

FRAMEWORKS = tuple(environment.FRAMEWORK_MODULES)


def _child_env(env: environment.TrainingEnvironment, interpreter: requirements.Interpreter,
               code_dir: Path) -> dict[str, str]:
    child = dict(os.environ)
    child.update(env.process_env())
    child.update(interpreter.env(os.environ))
    # The toolkit puts the code directory first on the script's import path.
    inherited = os.environ.get("PYTHONPATH")
    child["PYTHONPATH"] = os.pathsep.join([str(code_dir)] + ([inherited] if inherited else []))
    child["PYTHONUNBUFFERED"] = "1"  # lines reach the log as they are printed
    return child


def train(root: Path, framework: str) -> None:
    """Run the training script of the container at ``root`` as framework image ``framework``
    (``sklearn``, ``pytorch`` or ``xgboost``) would (module docstring; specs/containers.md,
    section 2).

    Returns when the script exits 0, having written ``root/opt/ml/output/success``.  Input
    the user must fix (no ``sagemaker_program``, no code, a missing entry point) raises
    :class:`~charter.builtins.ClientError`.  A failed script or installation writes the
    failure file and raises :class:`ScriptModeFailure`, a :class:`SystemExit` whose ``code``
    is the container's exit status (the script's own), so it passes through
    :func:`charter.builtins.run` and the process exits with that status.
    """
    if framework not in environment.FRAMEWORK_MODULES:
        raise ValueError(f"unknown framework {framework!r}; script mode runs {', '.join(FRAMEWORKS)}")
    env = environment.load(Path(root), framework)
    log = Log(env.log_level)
    entry = env.user_entry_point
    if not entry:
        raise ClientError("no entry point: set the hyperparameter sagemaker_program (the SDK's entry_point) "
                          "to the script to run")
    output_dir = Path(env.output_dir)
    try:
        code_dir = code.fetch(env.sagemaker_hyperparameters.get("sagemaker_submit_directory"), env.code_dir,
                              env.base_dir)
        entry_path = code_dir / entry
        if not entry_path.exists():
            present = ", ".join(sorted(p.name for p in code_dir.iterdir())[:20]) or "nothing"
            raise ClientError(f"the entry point {entry!r} is not in the code directory (it holds: {present})")
        kind = runner.entry_point_type(code_dir, entry)
        if kind is runner.EntryPointType.COMMAND:
            runner.make_executable(entry_path)
        interpreter = requirements.prepare(code_dir, env.base_dir,
                                           package=kind is runner.EntryPointType.PYTHON_PACKAGE, log=log)
        args = env.to_cmd_args()
        child_env = _child_env(env, interpreter, code_dir)
        command = runner.entry_point_command(kind, interpreter.python, entry, args)
        if framework == "pytorch":
            launch = torch_distributed.launch(env, interpreter.python, entry, kind, args, log)
            child_env.update(launch.env)
            command = launch.command or command
        if len(env.hosts) > 1:
            wait_for_hosts(env.hosts, log)
        Path(env.model_dir).mkdir(parents=True, exist_ok=True)
        Path(env.output_data_dir).mkdir(parents=True, exist_ok=True)
        log.info("Invoking user script\n\nTraining Env:\n\n" + json.dumps(env.training_env(), indent=4)
                 + "\n\nInvoking script with the following command:\n\n" + runner.describe(command) + "\n")
        runner.check(command, code_dir, child_env, ExecuteUserScriptError)
    except ScriptModeFailure as failure:
        log.error("Reporting training FAILURE")
        log.error(str(failure))
        write_failure(output_dir, failure.failure_reason)
        if failure.code:
            log.error(f"Encountered exit_code {failure.code}")
        raise
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "success").touch()
    log.info("Reporting training SUCCESS")
