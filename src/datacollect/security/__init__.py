"""Who may do what: users, roles, passwords, tokens, API keys, and the audit log."""
