"""Who may sign in to the live page: the user file (`DOSSIER_USERS`), its password
hashes (argon2id) and script tokens. The `users` commands write it; a worker serving
the page reads it and notices when it changes. May import: `domain` (the `User` and
`Scope` it hands out), `logs`, `clock`; never another adapter (the page receives a
`UserFile` from the job, through its `Accounts` port).
"""
