"""Who people are and what they may do: roles and the permission table, password hashing,
API tokens, and the account service that logs people in."""
