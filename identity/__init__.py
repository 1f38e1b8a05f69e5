"""Identity and rights: users, roles, scopes, sessions, login throttling, TOTP, audit.

Roles are DESIGN.md §8's; each user is scoped to a region (province, city, county
or township, by administrative division code) or to one school. ``authorize`` is
the one function every endpoint's rule goes through.
"""
