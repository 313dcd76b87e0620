"""The workspace: one company account that every signed-in user views.

Connections are stored in the seed's `user_credentials` table, keyed by `user_id`. The app has
one workspace, so every connection is stored under one id, `local`: the id the app has always
used without sign-in. Existing rows and the local copies made through them (account keys
`connection:local:…`) therefore stay valid without a data migration, and the same connection
is read whether sign-in is configured or not. Who connected it is kept in the connection's
encrypted details (`ConnectionInfo.connected_by`) and in the audit log.
"""

from __future__ import annotations

WORKSPACE_USER_ID = "local"
