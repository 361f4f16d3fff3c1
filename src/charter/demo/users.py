"""Demo step ``users``: one user per Role Manager persona, and a job execution role.

Each user is ``demo-<persona>`` with the persona's default activities (artifact
access scoped to the demo bucket) and an access key, written to
``CHARTER_HOME/credentials`` as profile ``demo-<persona>`` (with its region and
endpoint in ``CHARTER_HOME/config``), so ``AWS_PROFILE=demo-data-scientist aws
sagemaker ...`` shows what a data scientist may and may not do.  The admin is
already there (the bootstrap user); a persona with no default activities grants
nothing on its own and gets no user.
"""

from __future__ import annotations

from ..iam import identities, personas
from ..services.iam_admin import create_principal_with_persona, create_user
from . import BUCKET, Step, Workspace, user_name

EXECUTION_ROLE = "demo-execution-role"


def demo_personas() -> list[str]:
    """The personas that get a demo user."""
    return [name for name, persona in personas.PERSONAS.items() if name != "admin" and persona.activities]


def run(workspace: Workspace) -> None:
    instance = workspace.instance
    account = workspace.account
    made, skipped = [], []
    with instance.transaction() as conn:
        for persona in demo_personas():
            name = user_name(persona)
            if identities.find_principal(conn, account, "user", name) is not None:
                skipped.append(name)
                continue
            _, key = create_user(conn, instance.keyring, account=account, name=name, persona=persona, buckets=[BUCKET])
            workspace.keys[name] = key
            made.append(name)
        if identities.find_principal(conn, account, "role", EXECUTION_ROLE) is None:
            role = create_principal_with_persona(conn, account=account, kind="role", name=EXECUTION_ROLE,
                                                 persona="compute", buckets=[BUCKET])
            workspace.results["execution_role"] = role.arn
    for name in made:  # after the commit: a profile only for a user that exists
        instance.write_credentials(workspace.keys[name], profile=name)
    if made:
        workspace.made.append(
            f"users {', '.join(made)}: keys in {instance.settings.credentials_file} as profiles of the same names "
            f"(e.g. AWS_PROFILE={made[0]}); `charter iam list-users` lists them"
        )
    if "execution_role" in workspace.results:
        workspace.made.append(f"job execution role {workspace.results['execution_role']} (persona compute)")
    if skipped:
        workspace.notes.append(f"users {', '.join(skipped)} already existed and were left as they are")


STEP = Step("users", "a user per persona, and an execution role", run)
