"""The SageMaker framework images Charter builds in: scikit-learn and PyTorch.

Each module is an image in the sense of :mod:`charter.builtins` (a ``train(root)`` entry
point of the container contract) that runs the user's script through
:mod:`charter.builtins.script_mode`, as the real images run it through the
sagemaker-training-toolkit (specs/containers.md, section 2).  Nothing is imported until a
command runs.
"""
